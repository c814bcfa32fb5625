// Which media types are worth compressing: one list for the static handler's on-the-fly
// compression and the app layer's compress() middleware. Images, audio, video and archives are
// already compressed; text, JSON, XML, JavaScript, SVG, wasm and fonts without their own
// compression shrink under gzip/br.
const COMPRESSIBLE =
  /^(?:text\/|application\/(?:json|javascript|ecmascript|xml|xhtml\+xml|rss\+xml|atom\+xml|wasm|manifest\+json|ld\+json|x-javascript|graphql-response\+json)|image\/(?:svg\+xml|x-icon|vnd\.microsoft\.icon|bmp)|font\/(?:ttf|otf)|[a-z]+\/[^;]*\+(?:json|xml|text)(?:;|$))/i;

/** True when a Content-Type (parameters allowed) is worth compressing. */
export function isCompressible(contentType: string): boolean {
  return COMPRESSIBLE.test(contentType);
}
