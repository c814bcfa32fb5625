// The example application served by `npm start`: middleware, routing, a JSON API, a form post,
// an upload streamed to disk, a streamed response (server-sent events), and a log-in with sessions. Static files come
// from ./public through the CLI: `foyer serve examples/site/public --app examples/site/app.ts`.
import {
  App,
  attribute,
  escapeHtml,
  getSession,
  HttpError,
  html,
  json,
  offload,
  readForm,
  readJson,
  receiveMultipart,
  redirect,
  session,
  sse,
} from '../../src/index.ts';
import { timingSafeEqual } from 'node:crypto';

interface Note {
  id: number;
  text: string;
}

// Application state lives in the app (created once at boot), never per request in module scope.
const notes = new Map<number, Note>([[1, { id: 1, text: 'Foyer is up' }]]);
let nextId = 2;

const REQUEST_ID = attribute<string>('example.requestId');

const api = new App()
  .get('/notes', () => json([...notes.values()]))
  .get('/notes/:id', (_req, ctx) => {
    const note = notes.get(Number(ctx.params.id));
    if (note === undefined) throw new HttpError(404, 'No such note');
    return json(note);
  })
  .post('/notes', async (req) => {
    const body = await readJson<{ text?: unknown }>(req, { limit: 16 * 1024 });
    if (typeof body.text !== 'string' || body.text.length === 0 || body.text.length > 500) {
      throw new HttpError(422, 'text must be a string of 1 to 500 characters');
    }
    const note = { id: nextId++, text: body.text };
    notes.set(note.id, note);
    return json(note, { status: 201, headers: { location: `/api/notes/${note.id}` } });
  })
  .delete('/notes/:id', (_req, ctx) => {
    if (!notes.delete(Number(ctx.params.id))) throw new HttpError(404, 'No such note');
    return new Response(null, { status: 204 });
  });

// Sessions: set SESSION_SECRET (32+ characters) in production; every worker must share it.
const SESSION_SECRET = process.env.SESSION_SECRET ?? 'example-only-secret-do-not-use-in-production';
/** The demo's one account. A real app checks a password hash (bcrypt) from its user store. */
const DEMO = { user: 'demo', password: 'demo' };

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const page = (title: string, body: string) =>
  html(`<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title>${body}`);

const account = new App()
  .use(session({ secret: SESSION_SECRET }))
  .get('/login', () =>
    page(
      'Log in',
      '<form method="post" action="/account/login"><input name="user" placeholder="demo"> ' +
        '<input name="password" type="password" placeholder="demo"> <button>Log in</button></form>',
    ),
  )
  .post('/login', async (req, ctx) => {
    const form = await readForm(req, { limit: 4 * 1024 });
    const user = String(form.get('user') ?? '');
    if (!same(user, DEMO.user) || !same(String(form.get('password') ?? ''), DEMO.password)) {
      throw new HttpError(401, 'wrong user or password');
    }
    const s = getSession(ctx);
    s.regenerate(); // a new id at log-in: a session id planted before cannot be used afterwards
    s.set('user', user);
    return redirect('/account/private', 303);
  })
  .get('/private', (_req, ctx) => {
    const user = getSession(ctx).get<string>('user');
    if (user === undefined) return redirect('/account/login', 303);
    return page(
      'Private',
      `<p>Hello, ${escapeHtml(user)}.</p><form method="post" action="/account/logout"><button>Log out</button></form>`,
    );
  })
  .post('/logout', (_req, ctx) => {
    getSession(ctx).destroy();
    return redirect('/account/login', 303);
  });

const app = new App()
  // Middleware: the request id (the engine's, or a trusted proxy's) kept for the app's own use. With
  // a json access log or `requestId: true`, the engine also sends it as X-Request-Id on every
  // response, errors and static files included; otherwise the app's responses carry it here.
  .use(async (req, ctx, next) => {
    const id = ctx.requestId;
    ctx.set(REQUEST_ID, id);
    const res = await next(req);
    if (!res.headers.has('x-request-id')) res.headers.set('x-request-id', id);
    return res;
  })
  .mount('/api', api)
  // Log in, a protected page, log out: sessions (see README, "Access control … and sessions").
  .mount('/account', account)
  .get('/hello/:name', (_req, ctx) =>
    html(`<!doctype html><title>Hello</title><p>Hello, ${escapeHtml(ctx.params.name)}!</p>`),
  )
  // A form post: read it, then redirect (303: the browser follows with GET).
  .post('/contact', async (req) => {
    const form = await readForm(req, { limit: 8 * 1024 });
    const message = String(form.get('message') ?? '').trim();
    if (message === '') throw new HttpError(400, 'message is required');
    notes.set(nextId, { id: nextId, text: message.slice(0, 500) });
    nextId++;
    return redirect('/?sent=1', 303);
  })
  // An upload: files are streamed to a temp directory and removed after the response.
  .post('/upload', async (req, ctx) => {
    // 5 MiB in all: `npm start` passes --max-body-size 6mb so the engine lets such a body in.
    const upload = await receiveMultipart(req, ctx, {
      maxFileSize: 5 * 1024 * 1024,
      maxTotalSize: 5 * 1024 * 1024,
      maxFiles: 5,
    });
    return json({
      fields: upload.fields,
      files: upload.files.map((f) => ({ field: f.field, name: f.filename, type: f.type, size: f.size })),
    });
  })
  // A streamed response: a clock as server-sent events, stopped when the client leaves.
  .get('/clock', (_req, ctx) =>
    sse(
      (async function* () {
        for (let i = 0; i < 10 && !ctx.signal.aborted; i++) {
          yield { event: 'tick', id: String(i), data: { now: new Date().toISOString() } };
          await new Promise((r) => setTimeout(r, 1000));
        }
      })(),
    ),
  )
  .get('/api-info', (_req, ctx) => json({ requestId: ctx.get(REQUEST_ID), remote: ctx.remoteAddress }))
  // CPU-heavy work in a worker thread (threads start on demand and exit when idle).
  .post('/hash', offload(new URL('./hash.ts', import.meta.url), { minThreads: 0, maxThreads: 1 }));

export default app;
