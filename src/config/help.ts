// The text of `foyer --help` and `foyer serve --help`. Every flag of flags.ts is listed here.

export const HELP = `foyer — web server and application server for TypeScript

Usage:
  foyer serve [root] [options]   serve static files from root and/or a TypeScript app
  foyer reload [--pid-file F]    reload a running server (SIGHUP): new workers, then the old retire
  foyer help [serve]             show this help, or the options of serve
  foyer --version                print the version

Run "foyer serve --help" for every option.
`;

export const SERVE_HELP = `Usage: foyer serve [root] [options]

Serves, in this order: the application (--app), then static files from root (or PHP
through php-fpm with --php), then 404. Prints "foyer listening on http://HOST:PORT" when
ready. SIGINT/SIGTERM close gracefully (a second signal exits at once); SIGHUP reloads
(with a primary: --workers, --user, --max-*, --watch); SIGUSR2 is ignored. A systemd
socket (LISTEN_FDS, fd 3) is used instead of --port/--host when present.

Options:
  root                     directory of static files (optional)
  -p, --port N             TCP port, 0 for any free port (default 8080)
  -H, --host ADDR          address to bind (default 127.0.0.1; 0.0.0.0 for all)
  -a, --app FILE           application module (.ts, .mts, .js, .mjs) whose default export is a
                           fetch handler (req, ctx) => Response or an object with fetch()
                           (a Foyer App, a Hono app ...)
  -c, --config FILE        configuration file (default: foyer.config.{ts,mjs,js,json} in the
                           current directory, if there is one)
      --no-config          do not look for a configuration file
      --php ADDR           run .php files under root through php-fpm at ADDR
                           (127.0.0.1:9000 or unix:/run/php/php-fpm.sock), or "spawn" to
                           start and supervise a private php-fpm (stopped on exit)
      --tls-cert FILE      TLS certificate chain (PEM); needs --tls-key
      --tls-key FILE       TLS private key (PEM)
      --max-body-size SIZE largest request body, e.g. 1048576, 512k, 10mb (default 1mb)
      --limit NAME=VALUE   any reception limit or timeout (ms), repeatable, e.g.
                           --limit headersTimeout=5000 --limit maxHeaderSize=32k
                           (names: see the README's limits table)
      --log-level LEVEL    fatal, error, warn, info, debug, trace or silent (default info)
      --no-compress        do not compress responses
      --access-log FILE    access log file, or - for standard output (default: standard
                           output on a terminal, else none); SIGUSR1 reopens it
      --no-access-log      no access log, even on a terminal
      --access-log-format F  combined (nginx's, default), common or json
      --log-format F       server log: auto (human on a terminal, JSON otherwise), pretty, json
      --admin ADDR         admin listener for /metrics, /status and /health, e.g.
                           127.0.0.1:2019 (off by default; never the public port)
  -w, --workers N|auto     worker processes under a supervising primary (auto: one per core;
                           default 1, a single process). SIGHUP reloads them one by one
      --balance MODE       shared (default: workers accept from one socket) or round-robin
                           (the primary accepts and deals connections; even, but dearer)
      --max-requests N     replace a worker after about N requests (+0-10% jitter)
      --max-memory SIZE    replace a worker whose resident memory passes SIZE (e.g. 512mb)
      --user NAME          workers run as NAME (the primary binds as root first); --group NAME
      --group NAME         group for --user (default: the user's primary group)
      --watch              reload when files under the app's folder change (development)
      --watch-path PATH    watch PATH instead, repeatable
      --pid-file FILE      write the primary's pid to FILE (for foyer reload)
      --trust-proxy CIDR,… believe X-Forwarded-For / X-Forwarded-Proto from these peers
                           (CIDRs, loopback, private); repeatable
      --forwarded-header H x-forwarded-for (default) or forwarded (RFC 7239)
      --allow CIDR         allow only these client addresses (403 otherwise); repeatable
      --deny CIDR          refuse these client addresses (deny wins); repeatable
      --basic-auth FILE    Basic auth against an htpasswd file (bcrypt, apr1, {SHA})
      --realm TEXT         the Basic auth realm (default "Restricted")
      --rate-limit RATE    per-client rate such as 20r/s or 300r/m; 429 over it
      --rate-burst N       requests accepted at once above the rate (default 0)
      --rate-limit-dry-run log what the rate limit would refuse, refuse nothing
      --redis URL          share rate limits between instances (redis://host:6379)
      --php-request-buffering on|off
                           on (default): read a request body whole before PHP gets it, so
                           slow uploads hold no php-fpm child; off: stream large bodies
      --symlinks MODE      contain (default): serve and run only files whose real path is under
                           root; follow: follow symlinks anywhere (Debian-packaged PHP apps)
  -h, --help               show this help

Flags override the configuration file. Exit codes: 0 after a graceful stop, 1 when the
server cannot start (port in use, app failed to load), 2 for a bad flag or configuration.
`;
