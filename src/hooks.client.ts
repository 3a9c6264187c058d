import { z } from 'zod';

// The browser checks every server frame with zod. Zod compiles object schemas with
// `new Function` when it may, and probes whether it may by trying: under our CSP (no
// 'unsafe-eval') that probe is refused and reported as a violation. The interpreter is fast
// enough for frames; the server, where there is no CSP, keeps the compiled parsers.
z.config({ jitless: true });
