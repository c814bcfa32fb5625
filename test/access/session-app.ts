// A small app over session(): log in (regenerating the id), read, write, log out. Shared by the
// session tests in one process, across workers and across instances.
import { App, getSession, json, type SessionStore, session } from '../../src/index.ts';

export const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

export function sessionApp(store?: SessionStore, secret: string | string[] = SECRET): App {
  return new App()
    .use(session({ secret, store }))
    .get('/login/:user', (_req, ctx) => {
      const s = getSession(ctx);
      s.regenerate();
      s.set('user', ctx.params.user);
      return json({ ok: true });
    })
    .get('/me', (_req, ctx) => json({ user: getSession(ctx).get('user') ?? null, pid: process.pid }))
    .get('/set/:k/:v', (_req, ctx) => {
      getSession(ctx).set(ctx.params.k as string, ctx.params.v);
      return json({ ok: true, pid: process.pid });
    })
    .get('/all', (_req, ctx) => {
      const s = getSession(ctx);
      return json({ a: s.get('a') ?? null, b: s.get('b') ?? null, pid: process.pid });
    })
    .get('/logout', (_req, ctx) => {
      getSession(ctx).destroy();
      return json({ ok: true });
    });
}

/** The `name=value` of a Set-Cookie for `foyer.sid`, or undefined. */
export function sidCookie(res: Response): string | undefined {
  const c = res.headers.getSetCookie().find((x) => x.startsWith('foyer.sid='));
  return c?.split(';')[0];
}

/** A JSON response body as a record. */
export async function body(res: Response | Promise<Response>): Promise<Record<string, unknown>> {
  return (await (await res).json()) as Record<string, unknown>;
}
