// workerd (wrangler dev): the edge example's app unchanged, plus GET /golden.
import app from '../edge/app.ts';
import { golden } from './golden.mjs';

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === '/golden') return Response.json(await golden());
    return app.fetch(request, env);
  },
};
