// The application the process-model bench serves through `foyer serve --app` (plain JavaScript, so
// that only Foyer itself is measured): /plaintext and /json, like the other servers' entries.
const PLAINTEXT = 'Hello, World!';

export default {
  fetch(req) {
    const url = req.url;
    const path = url.slice(url.indexOf('/', 8));
    if (path === '/plaintext') return new Response(PLAINTEXT, { headers: { 'content-type': 'text/plain' } });
    if (path === '/json') return Response.json({ message: PLAINTEXT });
    return new Response('not found', { status: 404 });
  },
};
