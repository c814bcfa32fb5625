// Installs the engine's Request and Response as the globals, the way @hono/node-server does, so
// that apps construct light responses and `new Request(incoming, init)` works with the lazy
// request. Both stay `instanceof`-compatible with the native classes. Opt out with
// `serve({ overrideGlobals: false })`: everything still works, only slower.
import { IncomingRequest, kToRequest, NativeRequest } from './incoming-request.ts';
import { LightResponse, NativeResponse } from './light-response.ts';

class FoyerRequest extends NativeRequest {
  constructor(input: ConstructorParameters<typeof Request>[0], init?: RequestInit) {
    if (input instanceof IncomingRequest) input = input[kToRequest]();
    if (init !== undefined && init !== null && init.body instanceof IncomingRequest) {
      init = { ...init, body: (init.body as unknown as IncomingRequest)[kToRequest]().body };
    }
    super(input, init);
  }
}
Object.defineProperty(FoyerRequest, Symbol.hasInstance, { value: (x: unknown) => x instanceof NativeRequest });
Object.defineProperty(FoyerRequest, 'name', { value: 'Request' });
Object.defineProperty(LightResponse, 'name', { value: 'Response' });

let installed = false;

export function installGlobals(): void {
  if (installed) return;
  installed = true;
  globalThis.Request = FoyerRequest as typeof Request;
  globalThis.Response = LightResponse as unknown as typeof Response;
}

export function uninstallGlobals(): void {
  if (!installed) return;
  installed = false;
  globalThis.Request = NativeRequest;
  globalThis.Response = NativeResponse;
}
