// The one entry of build/fovea.*.wasm: re-exports every kernel.
// Kernels compute; the TypeScript layer decides (ARCHITECTURE.md, Design notes).

export {
  f32_gemm, f32_gemm_packed_b, f32_gemm_pack_b, f32_gemm_scratch_bytes, f32_gemm_packed_b_floats,
} from "./gemm/gemm";
export {
  f32_conv2d_fwd, f32_conv2d_bwd_data, f32_conv2d_bwd_filter, f32_conv2d_scratch_bytes,
  f32_conv2d_pack_weights, f32_conv2d_packed_floats,
} from "./conv/conv";
export { f32_conv2d_bwd_filter_implicit, f32_conv2d_bwd_data_implicit } from "./conv/backward";
export { f32_conv2d_bwd_data_direct } from "./conv/data";
export { f32_conv2d_maxpool_fwd, f32_conv2d_maxpool_scratch_bytes } from "./conv/pooled";
export { f32_conv2d_bwd_pooled, f32_conv2d_bwd_pooled_scratch_bytes } from "./conv/pooled-grad";
export { f32_conv3d_transpose_fwd, f32_conv3d_transpose_bwd_data, f32_conv3d_transpose_bwd_filter } from "./conv/transpose3d";
export {
  f32_conv2d_fwd_winograd, f32_conv2d_maxpool_fwd_winograd, f32_conv2d_bwd_data_winograd, f32_conv2d_pack_winograd, f32_conv2d_pack_winograd_data,
  f32_conv2d_winograd_floats, f32_conv2d_winograd_scratch_bytes,
} from "./conv/winograd";
export { f32_conv2d_bwd_filter_winograd, f32_conv2d_bwd_filter_winograd_scratch_bytes } from "./conv/winograd-filter";
export {
  f32_depthwise_conv2d_fwd, f32_depthwise_conv2d_bwd_data, f32_depthwise_conv2d_bwd_filter,
} from "./conv/depthwise";
export {
  f32_maxpool_fwd, f32_maxpool_fwd_codes, f32_maxpool_bwd, f32_maxpool_bwd_relu, f32_maxpool_bwd_recompute, f32_maxpool_indices_fwd, f32_maxpool_indices_bwd,
  f32_avgpool_fwd, f32_avgpool_bwd,
  f32_global_avgpool_fwd, f32_global_avgpool_bwd, f32_global_maxpool_fwd, f32_global_maxpool_bwd,
} from "./pool/pool";
export { f32_add_fwd, f32_bias_add_fwd, f32_bias_bwd, f32_axpby } from "./eltwise/binary";
export {
  f32_relu_fwd, f32_relu_bwd, f32_relu6_fwd, f32_relu6_bwd, f32_leaky_relu_fwd, f32_leaky_relu_bwd,
  f32_elu_fwd, f32_elu_bwd, f32_sigmoid_fwd, f32_sigmoid_bwd, f32_tanh_fwd, f32_tanh_bwd,
} from "./eltwise/activation";
export { f32_warp_affine, f32_warp_affine_batch } from "./image/warp";
export { f32_weighted_rows } from "./image/resize";
export { f32_mul_fwd, f32_copy_rows, f32_maxout_fwd, f32_maxout_bwd, f32_permute3, f32_permute6, f32_argmax_fwd, f32_zero } from "./eltwise/misc";
export {
  f32_batchnorm_period, f32_batchnorm_part_stride, f32_batchnorm_moments_stride, f32_batchnorm_part_moments, f32_batchnorm_fwd_stats, f32_batchnorm_part_sums_bwd, f32_batchnorm_part_apply, f32_batchnorm_bwd_affine,
  f32_channel_affine,
} from "./norm/batchnorm";
export { f32_batchnorm_pool_bwd_sums, f32_batchnorm_pool_bwd_apply, f32_batchnorm_pool_bwd_scratch_bytes } from "./norm/bnpool";
export { f32_lrn_fwd, f32_lrn_bwd } from "./norm/lrn";
export { f32_layer_norm_fwd, f32_layer_norm_bwd } from "./norm/layernorm";
export { f32_softmax_xent, f32_hinge, f32_mse, f32_sigmoid_xent, f32_selected_huber } from "./loss/loss";
export {
  f32_regularize, f32_sum_squares, f32_sgd_update, f32_momentum_update, f32_adagrad_update, f32_rmsprop_update,
  f32_adadelta_update, f32_adam_update, f32_average, f32_claim_lines,
} from "./optim/optim";
export { f32_softmax_fwd, f32_softmax_bwd, f32_log_softmax_fwd, f32_log_softmax_bwd } from "./eltwise/softmax";
export {
  f32_gelu_fwd, f32_gelu_bwd, f32_erf_fwd, f32_erf_bwd, f32_sqrt_fwd, f32_sqrt_bwd, f32_softplus_fwd, f32_softplus_bwd, f32_softsign_fwd, f32_softsign_bwd, f32_exp_fwd, f32_exp_bwd, f32_log_fwd, f32_log_bwd,
  f32_floor_fwd, f32_ceil_fwd, f32_round_fwd, f32_sign_fwd, f32_sum_strided,
  f32_binary_fwd_add, f32_binary_fwd_sub, f32_binary_fwd_mul, f32_binary_fwd_div, f32_binary_fwd_pow,
  f32_binary_bwd_add, f32_binary_bwd_sub, f32_binary_bwd_mul, f32_binary_bwd_div, f32_binary_bwd_pow,
  f32_binary_fwd_equal, f32_binary_bwd_equal, f32_binary_fwd_max, f32_binary_bwd_max, f32_binary_fwd_min, f32_binary_bwd_min,
  f32_binary_fwd_less, f32_binary_bwd_less, f32_binary_fwd_greater, f32_binary_bwd_greater, f32_binary_fwd_lessOrEqual, f32_binary_bwd_lessOrEqual,
  f32_binary_fwd_greaterOrEqual, f32_binary_bwd_greaterOrEqual, f32_binary_fwd_idiv, f32_binary_bwd_idiv, f32_binary_fwd_mod, f32_binary_bwd_mod, f32_binary_fwd_fmod, f32_binary_bwd_fmod, f32_cast_f16_fwd, f32_cast_bf16_fwd, f32_where_fwd, f32_where_bwd,
} from "./eltwise/math";

/** First byte above the module's static data: the TS host owns the heap from here. */
export function heap_base(): usize {
  return __heap_base;
}

/** Build identity: bit 0 = relaxed SIMD, bit 1 = threads, bit 2 = asserts (debug). */
export function build_flags(): i32 {
  let flags = 0;
  if (ASC_FEATURE_RELAXED_SIMD) flags |= 1;
  if (ASC_FEATURE_THREADS) flags |= 2;
  if (isDefined(ASC_NO_ASSERT) && ASC_NO_ASSERT) { /* release */ } else flags |= 4;
  return flags;
}
