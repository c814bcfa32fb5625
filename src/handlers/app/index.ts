// The application layer's public surface (re-exported by src/index.ts).
export { App, createApp } from './app.ts';
export type { AppOptions } from './app.ts';
export { compose } from './compose.ts';
export type { Composed } from './compose.ts';
export { defaultErrorResponse, toHttpError } from './error-response.ts';
export type { ErrorHandler } from './error-response.ts';
export { json, text, html, redirect, stream, sse, setHeader } from './respond.ts';
export { escapeHtml } from '../../util/escape-html.ts';
export type { SseEvent } from './respond.ts';
export { readBytes, readText, readJson, readForm } from './body.ts';
export type { BodyOptions, JsonOptions, FormOptions } from './body.ts';
export { receiveMultipart, receiveRaw } from './uploads.ts';
export type { Upload, UploadedFile, UploadOptions } from './uploads.ts';
export { compress } from './compress.ts';
export type { CompressOptions, Encoding } from './compress.ts';
