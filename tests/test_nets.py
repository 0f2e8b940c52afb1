"""gdbook.nets: the MLP builder, per-layer statistics, random matrix products, clipping, training."""

import math
from contextlib import nullcontext

import numpy as np
import pytest
import torch
from torch import nn

from gdbook import nets

F64 = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=gen(seed), dtype=F64)


# --- building -----------------------------------------------------------------------------


def test_mlp_structure_residual_batch_norm_dropout():
    net = nets.MLP(3, 8, depth=4, out_features=2, activation="tanh", batch_norm=True, residual=True, dropout=0.2)
    assert [tuple(l.weight.shape) for l in net.linears] == [(8, 3), (8, 8), (8, 8), (8, 8), (2, 8)]
    assert [b.residual for b in net.blocks] == [False, True, True, True]  # the first block changes the width
    assert all(isinstance(b.norm, nn.BatchNorm1d) and isinstance(b.act, nn.Tanh) for b in net.blocks)
    assert all(b.dropout.p == 0.2 for b in net.blocks)
    assert net(randn(5, 3)).shape == (5, 2)
    plain = nets.MLP(3, 8, depth=2)
    assert plain.readout is None and plain.blocks[0].norm is None and plain.blocks[0].dropout is None


def test_residual_block_adds_its_input():
    net = nets.MLP(4, 4, depth=1, residual=True, activation="relu", generator=1)
    x = randn(6, 4)
    b = net.blocks[0]
    torch.testing.assert_close(net(x), x + torch.relu(b.linear(x)), rtol=0, atol=0)


def test_batch_norm_factory_is_used():
    net = nets.MLP(3, 5, depth=2, batch_norm=lambda w: nn.LayerNorm(w, dtype=F64))
    assert all(isinstance(b.norm, nn.LayerNorm) for b in net.blocks)


def test_default_init_equals_torch_layers_built_in_the_same_order():
    with torch.random.fork_rng():
        torch.manual_seed(5)
        ref = [nn.Linear(3, 7, dtype=F64), nn.Linear(7, 7, dtype=F64), nn.Linear(7, 2, dtype=F64)]
    net = nets.MLP(3, 7, depth=2, out_features=2, generator=5)
    for ours, theirs in zip(net.linears, ref):
        torch.testing.assert_close(ours.weight, theirs.weight, rtol=1e-13, atol=0)
        torch.testing.assert_close(ours.bias, theirs.bias, rtol=1e-13, atol=0)


def test_named_inits_forward_their_arguments_and_zero_the_biases():
    net = nets.MLP(200, 300, depth=2, init="normal", std=0.01, generator=0)
    w = net.linears[1].weight
    # 90,000 N(0, 1e-4) entries: sd of the sample variance is 1e-4 * sqrt(2 / 90,000)
    assert abs(w.var().item() - 1e-4) < 5 * 1e-4 * math.sqrt(2 / 90_000)
    assert all(torch.equal(l.bias, torch.zeros_like(l.bias)) for l in net.linears)
    he = nets.MLP(200, 300, depth=1, init="kaiming_normal", generator=0)
    assert abs(he.linears[0].weight.var().item() - 2 / 200) < 5 * (2 / 200) * math.sqrt(2 / 60_000)
    custom = nets.MLP(2, 3, depth=1, init=lambda w, generator: w.data.fill_(0.7))
    assert custom.linears[0].weight.unique().tolist() == [0.7]


def test_same_seed_same_network():
    a = nets.MLP(5, 6, depth=3, init="xavier_uniform", generator=9)
    b = nets.MLP(5, 6, depth=3, init="xavier_uniform", generator=9)
    c = nets.MLP(5, 6, depth=3, init="xavier_uniform", generator=10)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.linears[0].weight, c.linears[0].weight)


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation must be one of"):
        nets.MLP(2, 2, depth=1, activation="gelu")
    with pytest.raises(ValueError, match="init must be one of"):
        nets.MLP(2, 2, depth=1, init="orthogonal")
    with pytest.raises(ValueError, match="depth must be an integer"):
        nets.MLP(2, 2, depth=0)
    with pytest.raises(ValueError, match="dropout must be in"):
        nets.MLP(2, 2, depth=1, dropout=1.0)
    with pytest.raises(TypeError, match="takes no further arguments"):
        nets.MLP(2, 2, depth=1, std=0.1)
    with pytest.raises(TypeError):
        nets.MLP(2, 2, depth=1, init="normal", sd=0.1)


def test_mlp_defaults_seed_0_float64_and_biases():
    # the default generator is the seed 0, the default dtype float64
    a, b = nets.MLP(3, 4, depth=2, out_features=1), nets.MLP(3, 4, depth=2, out_features=1, generator=0)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert all(p.dtype == F64 for p in a.parameters())
    f32 = nets.MLP(3, 4, depth=2, out_features=1, dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in f32.parameters())
    no_bias = nets.MLP(3, 4, depth=2, out_features=1, bias=False)
    assert [lin.bias for lin in no_bias.linears] == [None, None, None]
    assert len(list(no_bias.parameters())) == 3


def test_smallest_sizes_are_accepted():
    net = nets.MLP(1, 1, depth=1, out_features=1)
    assert [tuple(lin.weight.shape) for lin in net.linears] == [(1, 1), (1, 1)]
    assert net(torch.ones(2, 1, dtype=F64)).shape == (2, 1)


@pytest.mark.parametrize("arg", ["in_features", "width", "depth", "out_features"])
def test_sizes_below_one_are_rejected_naming_the_argument(arg):
    kw = {**dict(in_features=2, width=2, depth=1, out_features=1), arg: 0}
    with pytest.raises(ValueError, match=rf"^{arg} must be an integer in \[1, inf\], got 0$"):
        nets.MLP(**kw)


def test_bad_seed_dropout_and_init_messages():
    with pytest.raises(ValueError, match=r"^generator must be an integer in \[0, inf\], got -1$"):
        nets.MLP(2, 2, depth=1, generator=-1)
    with pytest.raises(ValueError, match=r"^dropout must be in \[0.0, 1.0\), got -0.1$"):
        nets.MLP(2, 2, depth=1, dropout=-0.1)
    assert nets.MLP(2, 2, depth=1, dropout=0.99).blocks[0].dropout.p == 0.99
    with pytest.raises(TypeError, match=r"^init='default' takes no further arguments, got \['std'\]$"):
        nets.MLP(2, 2, depth=1, std=0.1)


def test_activation_names_and_messages():
    expected = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "identity": nn.Identity}
    assert set(expected) == set(nets.ACTIVATIONS)
    for name, cls in expected.items():
        assert type(nets.activation(name)) is cls
        assert type(nets.MLP(2, 2, depth=1, activation=name).blocks[0].act) is cls
    assert nets.activation("leaky_relu").negative_slope == 0.01  # torch's default slope
    with pytest.raises(ValueError, match=r"^activation must be one of \('sigmoid', .*\), got 'gelu'$"):
        nets.activation("gelu")


def test_callable_init_gets_the_nets_generator_and_the_keyword_arguments():
    from gdbook import init

    by_name = nets.MLP(3, 5, depth=2, out_features=1, init="normal", std=0.1, generator=4)
    by_fn = nets.MLP(3, 5, depth=2, out_features=1, init=init.normal_, std=0.1, generator=4)
    for a, b in zip(by_name.parameters(), by_fn.parameters()):
        assert torch.equal(a, b)


# --- dropout ------------------------------------------------------------------------------


def test_dropout_keeps_the_expected_fraction_and_mean():
    d = nets.Dropout(0.3, gen(0))
    y = d(torch.ones(100_000, dtype=F64))
    kept = (y != 0).double().mean().item()
    # Bernoulli(0.7) fraction over 1e5 draws: sd sqrt(0.21 / 1e5) = 0.00145
    assert abs(kept - 0.7) < 5 * math.sqrt(0.21 / 100_000)
    assert torch.all((y == 0) | torch.isclose(y, torch.tensor(1 / 0.7, dtype=F64), rtol=1e-15, atol=0))
    d.eval()
    x = randn(10)
    assert d(x) is x
    assert torch.equal(nets.Dropout(1.0, gen(0))(torch.ones(3)), torch.zeros(3))


def test_dropout_masks_are_reproducible():
    a = nets.Dropout(0.5, gen(4))(torch.ones(50))
    b = nets.Dropout(0.5, gen(4))(torch.ones(50))
    assert torch.equal(a, b)


def test_dropout_p_range_includes_both_ends():
    x = randn(7)
    assert torch.equal(nets.Dropout(0.0, gen(0))(x), x)
    assert torch.equal(nets.Dropout(1.0, gen(0))(x), torch.zeros(7, dtype=F64))
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"^p must be in \[0.0, 1.0\], got {bad}$"):
            nets.Dropout(bad, gen(0))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_dropout_mask_is_the_documented_draw_in_the_inputs_dtype(dtype):
    # keep = rand(x.shape, generator, dtype=x.dtype) >= p: a unit is kept with probability 1 - p,
    # a draw equal to p included (32 of these 10,000 bfloat16 draws are exactly 0.5)
    x = torch.ones(10_000, dtype=dtype)
    y = nets.Dropout(0.5, gen(3))(x)
    u = torch.rand(x.shape, generator=gen(3), dtype=dtype)
    assert y.dtype == dtype
    assert torch.equal(y != 0, u >= 0.5)
    if dtype == torch.bfloat16:
        assert (u == 0.5).any() and torch.all(y[u == 0.5] == 2)


# --- statistics ---------------------------------------------------------------------------


def test_layer_stats_match_autograd_by_hand():
    net = nets.MLP(4, 6, depth=3, out_features=2, activation="tanh", init="xavier_normal", generator=3)
    x, y = randn(8, 4, seed=1), randn(8, 2, seed=2)
    s = nets.layer_stats(net, x, target=y)
    params = [l.weight for l in net.linears]
    loss = ((net(x) - y) ** 2).mean()
    grads = torch.autograd.grad(loss, params)
    assert s.loss == pytest.approx(loss.item(), rel=1e-14)
    np.testing.assert_allclose(s.grad_norm, [g.norm().item() for g in grads], rtol=1e-12)
    np.testing.assert_allclose(s.grad_std, [g.std(correction=0).item() for g in grads], rtol=1e-12)
    np.testing.assert_allclose(s.grad_mean, [g.mean().item() for g in grads], rtol=1e-10)
    outs = net.layer_outputs(x)
    np.testing.assert_allclose(s.act_std, [h.std(correction=0).item() for h in outs], rtol=1e-12)
    np.testing.assert_allclose(s.act_mean, [h.mean().item() for h in outs], rtol=1e-12)
    # dL/dy_hat = 2 (y_hat - y) / numel for the mean squared error
    assert s.act_grad_std[-1] == pytest.approx((2 * (outs[-1] - y) / y.numel()).std(correction=0).item(), rel=1e-12)


def test_layer_stats_needs_exactly_one_of_target_and_grad_output():
    net = nets.MLP(2, 2, depth=1)
    with pytest.raises(ValueError, match="exactly one"):
        nets.layer_stats(net, randn(3, 2))
    with pytest.raises(ValueError, match="exactly one"):
        nets.layer_stats(net, randn(3, 2), target=randn(3, 2), grad_output=randn(3, 2))


def test_layer_stats_clears_old_gradients():
    net = nets.MLP(3, 4, depth=2, generator=0)
    x, y = randn(5, 3), randn(5, 4)
    a = nets.layer_stats(net, x, target=y)
    b = nets.layer_stats(net, x, target=y)
    np.testing.assert_array_equal(a.grad_norm, b.grad_norm)


def test_sigmoid_gradients_vanish_geometrically_tanh_and_residual_do_not():
    # 30 layers of width 200, N(0, 1/n) weights, MSE to zeros: the setting of the book's chapter.
    x, zeros = torch.rand(10, 200, generator=gen(1), dtype=F64), torch.zeros(10, 200, dtype=F64)
    std = 1 / math.sqrt(200)

    def norms(**kw):
        net = nets.MLP(200, 200, depth=30, init="normal", std=std, bias=False, generator=0, **kw)
        return nets.layer_stats(net, x, target=zeros).grad_norm

    sig = norms(activation="sigmoid")
    # each layer multiplies by sigma' <= 1/4 and an orthogonal-ish W^T: below 1/3 per layer on average
    assert sig[0] / sig[-1] < (1 / 3) ** 29
    assert np.all(np.diff(np.log(sig)) > 0)  # strictly growing towards the output
    tanh = norms(activation="tanh")
    assert tanh.max() / tanh.min() < 10
    res = norms(activation="sigmoid", residual=True)
    assert res[0] / res[-1] > 0.1


def test_relu_variance_halves_per_layer_under_lecun_and_is_kept_under_he():
    x = randn(500, 256, seed=1)
    g_out = randn(500, 256, seed=2)
    lecun = nets.layer_stats(nets.MLP(256, 256, depth=20, init="normal", std=1 / 16, bias=False, generator=0), x, grad_output=g_out)
    he = nets.layer_stats(nets.MLP(256, 256, depth=20, init="kaiming_normal", bias=False, generator=0), x, grad_output=g_out)
    # log-variance slope per layer: log(1/2) = -0.69 under N(0, 1/n), 0 under He. Each layer's
    # factor is a ratio of averages over 500 x 256 entries and 65,536 weights, with relative
    # sd well below 0.01; the slope fitted over 20 layers is tighter still, so 0.05 is generous.
    slope_lecun = np.polyfit(np.arange(20), np.log(lecun.act_std**2), 1)[0]
    slope_he = np.polyfit(np.arange(20), np.log(he.act_std**2), 1)[0]
    assert slope_lecun == pytest.approx(math.log(0.5), abs=0.05)
    assert slope_he == pytest.approx(0.0, abs=0.05)
    # the backward signal dL/dh_l is kept under He too
    slope_back = np.polyfit(np.arange(20), np.log(he.act_grad_std**2), 1)[0]
    assert slope_back == pytest.approx(0.0, abs=0.05)


def test_gradient_mean_is_much_smaller_than_its_spread():
    net = nets.MLP(100, 100, depth=10, activation="sigmoid", init="normal", std=0.1, bias=False, generator=0)
    s = nets.layer_stats(net, torch.rand(10, 100, generator=gen(1), dtype=F64), target=torch.zeros(10, 100, dtype=F64))
    assert np.all(np.abs(s.grad_mean) <= s.grad_norm / 100)  # |mean| <= RMS = norm / sqrt(10^4)
    assert np.median(np.abs(s.grad_mean) / s.grad_std) < 0.5


def test_unit_spread_constant_init_stays_symmetric_and_dropout_breaks_it():
    X = randn(100, 4, seed=1)
    y = torch.sin(X @ randn(4, 1, seed=2))
    spreads = {}
    for p in (0.0, 0.5):
        net = nets.MLP(4, 2, depth=1, out_features=1, activation="tanh", init="constant", value=0.3, dropout=p, generator=3)
        h = nets.train_net(net, X, y, lr=0.1, steps=100, track=nets.unit_spread)
        spreads[p] = max(h.tracked)
    assert spreads[0.0] <= 1e-12  # exactly 0 in exact arithmetic; allow round-off
    assert spreads[0.5] > 1e-2


def test_layer_stats_with_grad_output_backpropagates_it():
    net = nets.MLP(4, 5, depth=2, out_features=3, activation="tanh", init="xavier_normal", generator=2)
    x, g_out = randn(6, 4, seed=1), randn(6, 3, seed=2)
    s = nets.layer_stats(net, x, grad_output=g_out)
    outs = net.layer_outputs(x)
    weights = [lin.weight for lin in net.linears]
    grads = torch.autograd.grad(outs[-1], weights + outs, grad_outputs=g_out)
    np.testing.assert_allclose(s.grad_norm, [g.norm().item() for g in grads[:3]], rtol=1e-12)
    np.testing.assert_allclose(s.act_grad_std, [g.std(correction=0).item() for g in grads[3:]], rtol=1e-12)
    assert s.act_grad_std[-1] == pytest.approx(g_out.std(correction=0).item(), rel=1e-12)
    assert s.loss is None


def test_layer_stats_of_a_float32_net_are_computed_in_float64():
    # float32 sums over 2,000-odd entries are off by about 1e-7 relative; the statistics are not
    net = nets.MLP(50, 40, depth=2, out_features=30, activation="tanh", init="xavier_normal", dtype=torch.float32, generator=0)
    x, y = randn(64, 50, seed=1).float(), randn(64, 30, seed=2).float()
    s = nets.layer_stats(net, x, target=y)
    outs = net.layer_outputs(x)
    weights = [lin.weight for lin in net.linears]
    grads = torch.autograd.grad(nn.functional.mse_loss(outs[-1], y), weights + outs)
    w64, h64, g64 = [g.double() for g in grads[:3]], [h.detach().double() for h in outs], [g.double() for g in grads[3:]]
    np.testing.assert_allclose(s.grad_norm, [g.norm().item() for g in w64], rtol=1e-12)
    np.testing.assert_allclose(s.grad_std, [g.std(correction=0).item() for g in w64], rtol=1e-12)
    np.testing.assert_allclose(s.grad_mean, [g.mean().item() for g in w64], rtol=1e-12)
    np.testing.assert_allclose(s.act_mean, [h.mean().item() for h in h64], rtol=1e-12)
    np.testing.assert_allclose(s.act_std, [h.std(correction=0).item() for h in h64], rtol=1e-12)
    np.testing.assert_allclose(s.act_grad_std, [g.std(correction=0).item() for g in g64], rtol=1e-12)


def test_gradient_stats_before_any_backward_are_zeros():
    s = nets.gradient_stats(nets.MLP(3, 4, depth=2, out_features=1))
    for a in (s.grad_norm, s.grad_std, s.grad_mean):
        np.testing.assert_array_equal(a, np.zeros(3))
    assert s.act_mean is None and s.act_grad_std is None and s.loss is None


def test_layer_stats_leaves_gradients_the_caller_kept():
    # existing gradients are cleared by dropping them (set to None), not by zeroing them in place
    net = nets.MLP(3, 4, depth=1, out_features=1, generator=0)
    x, y = randn(5, 3), randn(5, 1)
    nn.functional.mse_loss(net(x), 2 * y).backward()
    kept = [p.grad for p in net.parameters()]
    before = [g.clone() for g in kept]
    nets.layer_stats(net, x, target=y)
    assert all(torch.equal(g, b) for g, b in zip(kept, before))
    assert all(p.grad is not g for p, g in zip(net.parameters(), kept))


def test_layer_stats_message():
    net = nets.MLP(2, 2, depth=1)
    with pytest.raises(ValueError, match=r"^give exactly one of target= or grad_output=$"):
        nets.layer_stats(net, randn(3, 2))


def test_layer_stats_at_init_with_grad_output_and_float32():
    x, g_out = randn(6, 5, seed=1).float(), randn(6, 4, seed=2).float()
    kw = dict(activation="tanh", init="xavier_normal", generator=3)
    a = nets.layer_stats_at_init(x, width=4, depth=2, grad_output=g_out, **kw)
    ref = nets.layer_stats(nets.MLP(5, 4, 2, dtype=torch.float32, **kw), x, grad_output=g_out)
    np.testing.assert_array_equal(a.grad_norm, ref.grad_norm)
    np.testing.assert_array_equal(a.act_grad_std, ref.act_grad_std)
    assert a.loss is None


def _unit_spread_by_hand(net, layer):
    """max over units i of |theta_i - theta_0|, theta_i = (row i of W, b_i, column i of the next W)."""
    lins = net.linears
    W, nxt, b = lins[layer].weight, lins[layer + 1].weight, lins[layer].bias
    out = 0.0
    for i in range(W.shape[0]):
        diffs = [(W[i] - W[0]).abs().max().item(), (nxt[:, i] - nxt[:, 0]).abs().max().item()]
        if b is not None:
            diffs.append(abs(b[i] - b[0]).item())
        out = max(out, *diffs)
    return out


def test_unit_spread_equals_its_definition():
    for bias in (True, False):
        net = nets.MLP(3, 5, depth=2, out_features=2, bias=bias, generator=1)
        for layer in (0, 1):
            assert nets.unit_spread(net, layer) == _unit_spread_by_hand(net, layer)
    # equal weights, units that differ only in their bias
    net = nets.MLP(2, 3, depth=2, out_features=1, init="constant", value=0.5)
    with torch.no_grad():
        net.linears[1].bias.copy_(torch.tensor([0.2, 0.5, 0.0], dtype=F64))
    assert nets.unit_spread(net, 0) == 0.0
    assert nets.unit_spread(net, 1) == pytest.approx(0.3, abs=1e-15)


def test_unit_spread_layer_range():
    net = nets.MLP(2, 3, depth=2, out_features=1)  # three linear layers: blocks 0 and 1 have a next layer
    with pytest.raises(ValueError, match=r"^layer must be an integer in \[0, 1\], got 2$"):
        nets.unit_spread(net, 2)


# --- random matrix products ---------------------------------------------------------------


def test_log_growth_rate_formula():
    # n = 2: E ln chi^2_2 = ln 2 + psi(1) = ln 2 - Euler's gamma
    assert nets.log_growth_rate(2, 1.0) == pytest.approx(0.5 * (math.log(2) - 0.5772156649015329), rel=1e-12)
    # large n with sigma^2 = 1/n: about -1/(2n)
    assert nets.log_growth_rate(1000, 1 / math.sqrt(1000)) == pytest.approx(-1 / 2000, rel=0.01)


def test_vector_product_grows_at_the_predicted_rate():
    # log ||x M_1 ... M_k|| is a sum of k independent 0.5 ln(sigma^2 chi^2_n) terms of
    # variance psi'(n/2) / 4 (psi' = trigamma); 60 runs x 100 factors = 6000 terms.
    n, k, runs = 4, 100, 60
    rates = [nets.random_matrix_product(n, k, start=torch.ones(1, n, dtype=F64), generator=s).rate for s in range(runs)]
    trigamma = torch.special.polygamma(1, torch.tensor(n / 2, dtype=F64)).item()
    se = math.sqrt(trigamma / 4 / (runs * k))
    assert abs(np.mean(rates) - nets.log_growth_rate(n, 1.0)) < 5 * se


def test_matrix_product_explodes_and_scaled_product_keeps_the_mean_square():
    p = nets.random_matrix_product(4, 100, generator=0)
    assert p.factors == 100 and p.norms.shape == (101,)
    assert p.rate == pytest.approx(nets.log_growth_rate(4), abs=0.15)  # one run: sd about 0.04
    # sigma^2 = 1/n keeps E ||x M||^2 = ||x||^2: 20,000 one-factor products of a unit vector,
    # ||x M||^2 ~ chi^2_4 / 4 has variance 2/4 = 0.5 -> sd of the mean 0.005
    sq = [nets.random_matrix_product(4, 1, 0.5, start=torch.tensor([[1.0, 0, 0, 0]]), generator=s).norms[-1] ** 2 for s in range(2000)]
    assert abs(np.mean(sq) - 1) < 5 * math.sqrt(0.5 / 2000)


def test_matrix_product_is_deterministic():
    a = nets.random_matrix_product(4, 30, generator=3)
    b = nets.random_matrix_product(4, 30, generator=gen(3))
    np.testing.assert_array_equal(a.norms, b.norms)


def test_log_growth_rate_for_n_1_and_argument_messages():
    # n = 1: E ln chi^2_1 = -Euler's gamma - ln 2
    assert nets.log_growth_rate(1, 2.0) == pytest.approx(0.5 * (math.log(4) - 0.5772156649015329 - math.log(2)), rel=1e-12)
    with pytest.raises(ValueError, match=r"^n must be an integer in \[1, inf\], got 0$"):
        nets.log_growth_rate(0)
    for f in (nets.log_growth_rate, lambda n, std: nets.random_matrix_product(n, 3, std)):
        with pytest.raises(ValueError, match=r"^std must be in \(0.0, inf\], got 0.0$"):
            f(4, 0.0)
        with pytest.raises(ValueError, match=r"^std must be in \(0.0, inf\], got -1.0$"):
            f(4, -1.0)


def test_random_matrix_product_is_the_product_of_its_draws():
    n, k, std = 3, 5, 0.7
    g = gen(2)
    P = std * torch.randn(n, n, generator=g, dtype=F64)
    norms = [P.norm().item()]
    for _ in range(k):
        P = P @ (std * torch.randn(n, n, generator=g, dtype=F64))
        norms.append(P.norm().item())
    p = nets.random_matrix_product(n, k, std, generator=2)
    assert (p.n, p.std, p.factors) == (n, std, k) and type(p.std) is float
    torch.testing.assert_close(p.product, P, rtol=0, atol=0)
    np.testing.assert_array_equal(p.norms, norms)
    assert p.rate == pytest.approx(math.log(norms[-1] / norms[0]) / k, rel=1e-14)


def test_random_matrix_product_defaults_and_smallest_sizes():
    d = nets.random_matrix_product()
    ref = nets.random_matrix_product(4, 100, 1.0, generator=0)
    assert d.product.shape == (4, 4) and d.factors == 100 and d.std == 1.0
    np.testing.assert_array_equal(d.norms, ref.norms)
    one = nets.random_matrix_product(1, 1, start=torch.tensor([[2]]), generator=0)  # an integer start
    assert one.product.dtype == F64 and one.norms[0] == 2.0
    with pytest.raises(ValueError, match=r"^n must be an integer in \[1, inf\], got 0$"):
        nets.random_matrix_product(0)
    with pytest.raises(ValueError, match=r"^factors must be an integer in \[1, inf\], got 0$"):
        nets.random_matrix_product(4, 0)


# --- clipping and training ----------------------------------------------------------------


def _params_with_grads(seed, scale):
    ps = [torch.zeros(3, 4, dtype=F64, requires_grad=True), torch.zeros(5, dtype=F64, requires_grad=True)]
    for i, p in enumerate(ps):
        p.grad = scale * randn(*p.shape, seed=seed + i)
    return ps


@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_grad_norm_equals_torch(scale):
    ours, theirs = _params_with_grads(0, scale), _params_with_grads(0, scale)
    total = nets.clip_grad_norm_(ours, 1.0)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total == pytest.approx(ref.item(), rel=1e-14)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-14, atol=0)
    joint = math.sqrt(sum((p.grad**2).sum().item() for p in ours))
    assert joint <= 1.0 + 1e-12


def test_clip_grad_value_equals_torch():
    ours, theirs = _params_with_grads(1, 2.0), _params_with_grads(1, 2.0)
    nets.clip_grad_value_(ours, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for a, b in zip(ours, theirs):
        assert torch.equal(a.grad, b.grad)
        assert a.grad.abs().max() <= 0.5


def test_train_net_records_divergence_and_clipping_prevents_it():
    X = randn(64, 4, seed=1)
    y = X[:, :1] * 3

    def run(**kw):
        net = nets.MLP(4, 32, depth=6, out_features=1, activation="relu", init="normal", std=0.6, generator=2)
        return nets.train_net(net, X, y, lr=0.05, steps=60, **kw)

    free = run()
    assert free.diverged and free.diverged_epoch is not None and not math.isfinite(free.loss[-1])
    clipped = run(clip_norm=1.0)
    assert not clipped.diverged and clipped.loss[-1] < clipped.loss[0]
    assert len(clipped.grad_norm) == 60 and len(clipped.loss) == 61
    again = run(clip_norm=1.0)
    assert clipped.loss == again.loss
    with pytest.raises(ValueError, match="at most one"):
        run(clip_norm=1.0, clip_value=1.0)


# --- pure wrappers that the build's cache can share between languages ------------------------


def test_layer_stats_at_init_equals_building_by_hand_and_is_cached():
    from gdbook import cache

    x, t = randn(6, 5, seed=1), randn(6, 4, seed=2)
    kw = dict(activation="tanh", init="xavier_normal", generator=3)
    ref = nets.layer_stats(nets.MLP(5, 4, 3, **kw), x, target=t)
    with cache.enabled():
        a = nets.layer_stats_at_init(x, width=4, depth=3, target=t, **kw)
        b = nets.layer_stats_at_init(x, width=4, depth=3, target=t, **kw)
        assert cache.stats()["hits"] == 1
    for s in (a, b):
        np.testing.assert_array_equal(s.grad_norm, ref.grad_norm)
        np.testing.assert_array_equal(s.act_std, ref.act_std)


def test_train_mlp_equals_train_net():
    X = randn(32, 3, seed=1)
    y = X[:, :1] ** 2
    kw = dict(activation="relu", init="kaiming_normal", generator=4)
    ref = nets.train_net(nets.MLP(3, 8, 2, 1, **kw), X, y, lr=0.05, steps=20, clip_value=0.5)
    h = nets.train_mlp(X, y, width=8, depth=2, lr=0.05, steps=20, clip_value=0.5, **kw)
    assert h.loss == ref.loss and h.grad_norm == ref.grad_norm


def _train_in_place(net, X, y, **kw):
    """The loop of train_net run directly on ``net`` (what train_net did before it used the cache)."""
    return nets._fit(net, X, y, **{**dict(optimizer=None, clip_norm=None, clip_value=None, track=None, label=""), **kw})


def _assert_same_net(a, b):
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    for p, q in zip(a.parameters(), b.parameters()):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            assert torch.equal(p.grad, q.grad)
    assert torch.equal(a.generator.get_state(), b.generator.get_state())


@pytest.mark.parametrize("cached", [False, True])
@pytest.mark.parametrize("kind", ["batch_norm", "dropout"])
def test_train_net_leaves_the_net_as_training_in_place_does(kind, cached):
    from gdbook import cache

    X, y = randn(16, 3, seed=1), randn(16, 2, seed=2)
    kw = dict(activation="tanh", init="xavier_normal", generator=5, **{kind: True if kind == "batch_norm" else 0.3})
    net, ref = nets.MLP(3, 6, 3, 2, **kw), nets.MLP(3, 6, 3, 2, **kw)
    expected = _train_in_place(ref, X, y, lr=0.1, steps=15, momentum=0.9, track=nets.unit_spread)
    with cache.enabled() if cached else nullcontext():
        h = nets.train_net(net, X, y, lr=0.1, steps=15, momentum=0.9, track=nets.unit_spread)
        if cached:  # a net with active dropout draws random numbers: never served from the cache
            assert cache.stats()["uncached" if kind == "dropout" else "misses"] == 1
    assert h.loss == expected.loss and h.tracked == expected.tracked
    _assert_same_net(net, ref)
    assert [b.norm.running_mean is not None for b in net.blocks if b.norm is not None] == \
        [True] * (3 if kind == "batch_norm" else 0)


def test_train_net_from_the_cache_gives_the_trained_net_and_the_callers_label():
    from gdbook import cache

    X, y = randn(16, 3, seed=1), randn(16, 2, seed=2)
    kw = dict(activation="sigmoid", init="normal", std=0.5, batch_norm=True, generator=7)
    with cache.enabled():
        first, second = nets.MLP(3, 6, 3, 2, **kw), nets.MLP(3, 6, 3, 2, **kw)
        a = nets.train_net(first, X, y, lr=0.5, steps=10, label="lr 0.5")
        b = nets.train_net(second, X, y, lr=0.5, steps=10, label="学习率 0.5")
        assert cache.stats()["hits"] == 1
        nets.train_net(nets.MLP(3, 6, 3, 2, **kw), X, y, lr=0.25, steps=10)  # other arguments: a miss
        assert cache.stats()["misses"] == 2
    assert (a.label, b.label) == ("lr 0.5", "学习率 0.5") and a.loss == b.loss
    _assert_same_net(first, second)
    assert not torch.equal(first.linears[0].weight, nets.MLP(3, 6, 3, 2, **kw).linears[0].weight)  # trained


def test_an_active_dropout_module_has_no_fingerprint():
    from gdbook import cache

    for module in (nets.MLP(2, 3, 2, dropout=0.5), nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))):
        with pytest.raises(cache.Uncacheable, match="dropout"):
            cache.fingerprint(module)
        cache.fingerprint(module.eval())  # the identity in eval mode
    cache.fingerprint(nets.MLP(2, 3, 2, dropout=0.0))


# --- training: records, arguments, the cache ------------------------------------------------


def _torch_loop(net, X, y, *, lr, steps, **hyper):
    """Full-batch training written with torch alone: losses (before each step, then after the
    last) and the joint gradient norm of each step."""
    opt = torch.optim.SGD(net.parameters(), lr=lr, **hyper)
    losses, norms = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((net(X) - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        norms.append(torch.cat([p.grad.flatten() for p in net.parameters()]).norm().item())
        opt.step()
    with torch.no_grad():
        losses.append(((net(X) - y) ** 2).mean().item())
    return losses, norms


def test_train_net_equals_a_torch_loop_and_records_every_step():
    X, y = randn(12, 3, seed=1), randn(12, 2, seed=2)
    kw = dict(activation="tanh", init="xavier_normal", generator=6)
    net, ref = nets.MLP(3, 5, 2, 2, **kw), nets.MLP(3, 5, 2, 2, **kw)
    h = nets.train_net(net, X, y, lr=0.1, steps=3, momentum=0.9)
    losses, norms = _torch_loop(ref, X, y, lr=0.1, steps=3, momentum=0.9)
    np.testing.assert_allclose(h.loss, losses, rtol=1e-12)
    np.testing.assert_allclose(h.grad_norm, norms, rtol=1e-12)
    for p, q in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-15)
    assert (h.steps, h.examples, h.epoch, h.lr, h.label) == (3, 36, [0, 1, 2, 3], [0.1] * 3, "")
    assert not h.diverged and h.diverged_epoch is None and h.tracked == []


def test_train_net_one_step_and_lr_zero():
    X, y = randn(8, 2, seed=1), randn(8, 1, seed=2)
    net = nets.MLP(2, 3, 1, 1, generator=0)
    start = [p.detach().clone() for p in net.parameters()]
    h = nets.train_net(net, X, y, lr=0.0, steps=1)
    assert (h.steps, h.examples, h.epoch, len(h.loss), len(h.grad_norm)) == (1, 8, [0, 1], 2, 1)
    assert h.loss[0] == h.loss[1] and all(torch.equal(p, q) for p, q in zip(net.parameters(), start))


def test_train_net_argument_messages():
    X, y = randn(4, 2), randn(4, 1)
    net = nets.MLP(2, 2, 1, 1)
    for train in (lambda **kw: nets.train_net(net, X, y, **kw),
                  lambda **kw: nets.train_mlp(X, y, width=2, depth=1, **kw)):
        with pytest.raises(ValueError, match=r"^lr must be in \[0.0, inf\], got -0.1$"):
            train(lr=-0.1, steps=1)
        with pytest.raises(ValueError, match=r"^steps must be an integer in \[1, inf\], got 0$"):
            train(lr=0.1, steps=0)
        with pytest.raises(ValueError, match=r"^give at most one of clip_norm and clip_value$"):
            train(lr=0.1, steps=1, clip_norm=1.0, clip_value=1.0)


def test_train_net_divergence_record():
    X = randn(64, 4, seed=1)
    net = nets.MLP(4, 32, depth=6, out_features=1, activation="relu", init="normal", std=0.6, generator=2)
    h = nets.train_net(net, X, X[:, :1] * 3, lr=0.05, steps=60)
    first_bad = next(k for k, v in enumerate(h.loss) if not math.isfinite(v))
    assert h.diverged and h.diverged_epoch == first_bad == h.steps == len(h.loss) - 1
    assert h.epoch == list(range(len(h.loss))) and len(h.grad_norm) == len(h.lr) == h.steps
    assert h.examples == 64 * h.steps


def test_train_mlp_forwards_every_training_argument():
    X = randn(16, 3, seed=1).float()
    y = X[:, :1] ** 2
    kw = dict(activation="tanh", init="xavier_normal", generator=4)
    train = dict(lr=0.05, steps=5, optimizer=torch.optim.Adam, clip_norm=0.1, track=nets.unit_spread, label="Adam")
    ref = nets.train_net(nets.MLP(3, 6, 2, 1, dtype=torch.float32, **kw), X, y, **train)
    h = nets.train_mlp(X, y, width=6, depth=2, **train, **kw)
    assert (h.loss, h.grad_norm, h.tracked, h.label) == (ref.loss, ref.grad_norm, ref.tracked, "Adam")
    assert len(h.tracked) == 5
    sgd = nets.train_mlp(X, y, width=6, depth=2, lr=0.05, steps=5, **kw)
    assert sgd.loss != h.loss and sgd.label == ""


def test_train_net_result_from_the_cache_is_not_changed_by_later_edits_of_the_first_net():
    from gdbook import cache

    X, y = randn(8, 2, seed=1), randn(8, 1, seed=2)
    with cache.enabled():
        first = nets.MLP(2, 3, 1, 1, generator=0)
        nets.train_net(first, X, y, lr=0.1, steps=3)
        trained = [p.detach().clone() for p in first.parameters()]
        with torch.no_grad():
            for p in first.parameters():
                p.zero_()
        second = nets.MLP(2, 3, 1, 1, generator=0)
        nets.train_net(second, X, y, lr=0.1, steps=3)
        assert cache.stats()["hits"] == 1
    assert all(torch.equal(p, q) for p, q in zip(second.parameters(), trained))


def _generator_states(net):
    return [m.generator.get_state() for m in net.modules() if isinstance(getattr(m, "generator", None), torch.Generator)]


def test_train_net_trains_a_copy_so_an_interrupted_run_leaves_the_net_as_it_was():
    X, y = randn(8, 2, seed=1), randn(8, 1, seed=2)
    net = nets.MLP(2, 3, 1, 1, generator=0)
    start = [p.detach().clone() for p in net.parameters()]

    def track(trained):
        if len(calls) == 2:
            raise KeyboardInterrupt  # the reader stops a long run
        calls.append(trained)

    calls = []
    with pytest.raises(KeyboardInterrupt):
        nets.train_net(net, X, y, lr=0.1, steps=5, track=track)
    assert len(calls) == 2 and all(t is not net for t in calls)
    assert all(torch.equal(p, q) and p.grad is None for p, q in zip(net.parameters(), start))


def test_train_net_from_the_cache_keeps_each_nets_generator_state():
    # training without active dropout draws nothing: each generator ends where it started,
    # also when the second, otherwise identical, net is served from the cache
    from gdbook import cache

    X, y = randn(8, 2, seed=1), randn(8, 2, seed=2)

    def mlp(advance):
        net = nets.MLP(2, 2, 1, generator=0)
        torch.rand(advance, generator=net.generator)
        return net

    def seq(seed):
        return nn.Sequential(nets.MLP(2, 2, 1, generator=0), nets.Dropout(0.5, gen(seed))).eval()

    for make, args in ((mlp, (0, 3)), (seq, (0, 1))):
        a, b = make(args[0]), make(args[1])
        states = [_generator_states(net) for net in (a, b)]
        with cache.enabled():
            ha = nets.train_net(a, X, y, lr=0.1, steps=2)
            hb = nets.train_net(b, X, y, lr=0.1, steps=2)
        assert ha.loss == hb.loss
        for net, before in zip((a, b), states):
            after = _generator_states(net)
            assert len(after) == len(before) == 1 + (make is seq)
            assert all(torch.equal(s, t) for s, t in zip(before, after))


def test_dropout_fingerprint_idle_module_and_hooks():
    from gdbook import cache

    cache.fingerprint(nets.Dropout(0.0, gen(0)))  # p = 0 draws nothing, even in training mode
    plain = nets.Dropout(0.3, gen(0)).eval()
    hooked = nets.Dropout(0.3, gen(0)).eval()
    hooked.register_forward_hook(lambda module, args, out: 2 * out)
    assert cache.fingerprint(plain) != cache.fingerprint(hooked)  # a hook changes what it computes
    with pytest.raises(cache.Uncacheable, match=r"^an active dropout draws from its generator, which a cache hit would not advance$"):
        cache.fingerprint(nets.Dropout(0.3, gen(0)))
