const { init } = require('hla-wasm');

init().then((hla) => {
  const x = { data: new Float32Array(1 * 8 * 2 * 16).fill(0.1), shape: [1, 8, 2, 16] };
  const { o } = hla.la1(x, x, x, { normalize: true });
  console.log(hla.backend, o.shape);
});
