// HTML text and attribute escaping: the five characters that can end a text run or a quoted
// attribute. Pure; every page Foyer writes (listing, error page) goes through it.

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}
