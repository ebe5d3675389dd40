// workerd's share of the cross-runtime benchmark (wrangler dev): GET /work?backend=&kind=&n=
// runs `kind` n times and answers when done; bench/runtimes.ts times the requests, because
// workerd's clock does not advance while code runs.
import { relaxedFused, work } from './probe.mjs';

export default {
  async fetch(request) {
    const u = new URL(request.url);
    if (u.pathname === '/fused') return Response.json(await relaxedFused());
    if (u.pathname !== '/work') return new Response('not found', { status: 404 });
    const ok = await work(u.searchParams.get('backend'), u.searchParams.get('kind'), Number(u.searchParams.get('n')));
    return new Response(ok ? 'ok' : 'unsupported', { status: ok ? 200 : 501 });
  },
};
