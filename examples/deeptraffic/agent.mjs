// DeepTraffic's code box: the net, the options and learn() as a student writes them on the page.
// There, lanesSide, patchesAhead, patchesBehind, trainIterations, brain and learn are globals the
// page reads and deepqlearn is ConvNetJS's; here they are this function's result and deepqlearn
// is its argument — fovea's (fovea.deepqlearn) or ConvNetJS's, running the same code.
export function deepTraffic(deepqlearn, trainIterations = 20000) {
  var lanesSide = 2;
  var patchesAhead = 10;
  var patchesBehind = 3;

  var num_inputs = (lanesSide * 2 + 1) * (patchesAhead + patchesBehind);
  var num_actions = 5;
  var temporal_window = 3;
  var network_size = num_inputs * temporal_window + num_actions * temporal_window + num_inputs;

  var layer_defs = [];
  layer_defs.push({ type: "input", out_sx: 1, out_sy: 1, out_depth: network_size });
  layer_defs.push({ type: "fc", num_neurons: 48, activation: "relu" });
  layer_defs.push({ type: "fc", num_neurons: 24, activation: "relu" });
  layer_defs.push({ type: "regression", num_neurons: num_actions });

  var tdtrainer_options = { learning_rate: 0.001, momentum: 0.0, batch_size: 64, l2_decay: 0.01 };

  var opt = {};
  opt.temporal_window = temporal_window;
  opt.experience_size = 6000;
  opt.start_learn_threshold = 500;
  opt.gamma = 0.9;
  opt.learning_steps_total = trainIterations;
  opt.learning_steps_burnin = Math.floor(trainIterations / 10);
  opt.epsilon_min = 0.0;
  opt.epsilon_test_time = 0.0;
  opt.layer_defs = layer_defs;
  opt.tdtrainer_options = tdtrainer_options;

  var brain = new deepqlearn.Brain(num_inputs, num_actions, opt);

  var learn = function (state, lastReward) {
    brain.backward(lastReward);
    var action = brain.forward(state);
    return action;
  };

  return { lanesSide, patchesAhead, patchesBehind, trainIterations, brain, learn };
}
