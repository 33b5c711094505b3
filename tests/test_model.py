"""DrumVAE: shapes, decoding paths agree, a tiny model learns, seeded sampling is repeatable."""

import numpy as np
import pytest
import torch

from latentlab.model import DrumVAE, ModelConfig, kl_divergence
from latentlab.train import vae_loss

TINY = {"z_dim": 8, "encoder_hidden": 32, "decoder_hidden": 48, "conductor_hidden": 16}


def random_hvo(n: int, steps: int, seed: int = 0, density: float = 0.2) -> torch.Tensor:
    g = np.random.default_rng(seed)
    hits = (g.random((n, steps, 9)) < density).astype(np.float32)
    vel = g.uniform(0.2, 1.0, hits.shape).astype(np.float32) * hits
    off = g.uniform(-0.4, 0.4, hits.shape).astype(np.float32) * hits
    return torch.from_numpy(np.concatenate([hits, vel, off], -1))


# The two ways of reading a pattern (whole, bar by bar) and of making bar embeddings.
VARIANTS = [
    (False, 2, {}),
    (True, 2, {}),
    (True, 4, {}),
    (False, 2, {"bar_encoder": True}),
    (True, 4, {"bar_encoder": True}),
    (True, 4, {"bar_encoder": True, "linear_conductor": True}),
]


@pytest.mark.parametrize("hierarchical,bars,options", VARIANTS)
def test_shapes_and_output_ranges(hierarchical, bars, options):
    model = DrumVAE(ModelConfig(bars=bars, hierarchical=hierarchical, **options, **TINY))
    x = random_hvo(3, bars * 16)
    out, mu, sigma = model(x)
    assert out.hit_logits.shape == (3, bars * 16, 9)
    assert mu.shape == sigma.shape == (3, 8) and (sigma > 0).all()
    hvo = model.generate(torch.randn(5, 8), temperature=1.0)
    assert hvo.shape == (5, bars * 16, 27)
    hits, vel, off = hvo[..., :9], hvo[..., 9:18], hvo[..., 18:]
    assert set(hits.unique().tolist()) <= {0.0, 1.0}
    assert (vel >= 0).all() and (vel <= 1).all() and (off.abs() <= 0.5).all()
    assert (vel[hits == 0] == 0).all() and (off[hits == 0] == 0).all()


@pytest.mark.parametrize("hierarchical,bars,options", VARIANTS)
def test_step_by_step_decoder_matches_the_fused_training_decoder(hierarchical, bars, options):
    """generate() writes the GRU out by hand; feeding its output back teacher-forced must agree."""
    config = ModelConfig(bars=bars, hierarchical=hierarchical, decoder_layers=2, **options, **TINY)
    model = DrumVAE(config).eval()
    z = torch.randn(6, 8) * 3
    generated = model.generate(z)
    with torch.no_grad():
        forced = model.decode_teacher_forced(z, generated)
    assert torch.equal((forced.hit_logits > 0).float(), generated[..., :9])
    torch.testing.assert_close(forced.hvo(generated[..., :9]), generated, atol=1e-5, rtol=0)


@pytest.mark.parametrize("hierarchical,bars,options", VARIANTS)
@pytest.mark.parametrize("temperature,known", [(None, 0), (1.0, 0), (None, 16), (0.8, 16)])
def test_generate_reads_what_a_teacher_forced_pass_over_its_output_reads(
    hierarchical, bars, options, temperature, known
):
    """The decoder's own reading of each step it plays (chance of a hit, velocity, offset),
    which a continuation uses to place hits, comes with the decode, no second pass."""
    config = ModelConfig(bars=bars, hierarchical=hierarchical, decoder_layers=2, **options, **TINY)
    model = DrumVAE(config).eval()
    z = torch.randn(4, 8) * 3
    prefix = random_hvo(4, known, seed=5) if known else None
    g = torch.Generator().manual_seed(1)
    hvo, read = model.generate(z, temperature, g, prefix=prefix, readings=True)
    again = model.generate(z, temperature, torch.Generator().manual_seed(1), prefix=prefix)
    assert torch.equal(hvo, again)
    with torch.no_grad():
        forced = model.decode_teacher_forced(z, hvo)
    expected = torch.cat([torch.sigmoid(forced.hit_logits), forced.velocities, forced.offsets], -1)
    played = slice(0 if hierarchical else known, None)
    torch.testing.assert_close(read[:, played], expected[:, played], atol=1e-5, rtol=0)
    if known and not hierarchical:
        assert torch.equal(read[:, :known], prefix)


@pytest.mark.parametrize("hierarchical,bars,known", [(False, 2, 7), (False, 2, 16), (True, 4, 32)])
def test_a_prefix_is_played_as_given_and_the_decoder_goes_on_from_it(hierarchical, bars, known):
    """Forcing the decoder's own first steps changes nothing; forcing others keeps them."""
    model = DrumVAE(ModelConfig(bars=bars, hierarchical=hierarchical, decoder_layers=2, **TINY))
    model.eval()
    z = torch.randn(5, 8) * 3
    free = model.generate(z)
    again = model.generate(z, prefix=free[:, :known])
    assert torch.equal(again[..., :9], free[..., :9])
    torch.testing.assert_close(again, free, atol=1e-5, rtol=0)
    other = random_hvo(5, known, seed=3)
    played = model.generate(z, prefix=other)
    assert torch.equal(played[:, :known], other)


def test_a_bar_encoder_hears_every_bar_alike():
    """Reading bar by bar, the code of a pattern does not depend on where a bar sits only
    through a long recurrence: each bar's summary is the same function of that bar."""
    model = DrumVAE(ModelConfig(bars=4, hierarchical=True, bar_encoder=True, **TINY)).eval()
    bar = random_hvo(1, 16, seed=1)
    empty = torch.zeros(1, 16, 27)
    first = torch.cat([bar, empty, empty, empty], 1)
    last = torch.cat([empty, empty, empty, bar], 1)
    with torch.no_grad():
        summaries = [model.encoder(x.reshape(4, 16, 27))[1] for x in (first, last)]
    torch.testing.assert_close(summaries[0][:, 0], summaries[1][:, 3])
    assert not torch.equal(model.encode(first)[0], model.encode(last)[0])


def test_history_dropout_hides_previous_steps_in_training_only():
    model = DrumVAE(ModelConfig(history_dropout=1.0, **TINY))
    z, a, b = torch.randn(2, 8), random_hvo(2, 32, seed=1), random_hvo(2, 32, seed=2)
    with torch.no_grad():
        model.train()
        hidden = [model.decode_teacher_forced(z, x).hit_logits for x in (a, b)]
        model.eval()
        seen = [model.decode_teacher_forced(z, x).hit_logits for x in (a, b)]
    assert torch.equal(hidden[0], hidden[1]), "training: the decoder saw no previous step"
    assert not torch.equal(seen[0], seen[1]), "evaluation: the decoder sees every step"
    half = DrumVAE(ModelConfig(history_dropout=0.5, **TINY)).train()
    with torch.no_grad():
        runs = [half.decode_teacher_forced(z, a).hit_logits for _ in range(2)]
    assert not torch.equal(runs[0], runs[1]), "a different half is hidden each time"


def test_seeded_sampling_is_repeatable_and_temperature_matters():
    model = DrumVAE(ModelConfig(**TINY)).eval()
    z = torch.randn(4, 8)

    def sample(seed, temperature):
        return model.generate(z, temperature, torch.Generator().manual_seed(seed))

    assert torch.equal(sample(1, 1.0), sample(1, 1.0))
    assert not torch.equal(sample(1, 1.0), sample(2, 1.0))
    assert torch.equal(model.generate(z), model.generate(z))
    assert torch.equal(sample(3, 0.0), model.generate(z))


def test_kl_is_zero_for_the_prior_and_positive_elsewhere():
    zeros, ones = torch.zeros(2, 5), torch.ones(2, 5)
    torch.testing.assert_close(kl_divergence(zeros, ones), torch.zeros(2))
    assert (kl_divergence(ones, ones) > 0).all()
    torch.testing.assert_close(kl_divergence(ones, ones), torch.full((2,), 2.5))


def grooves(n: int, seed: int = 0) -> torch.Tensor:
    """n two-bar rock-like grooves that differ in kick and tom placement, with dynamics."""
    g = np.random.default_rng(seed)
    hits = np.zeros((n, 32, 9), np.float32)
    for i in range(n):
        hits[i, ::2, 2] = 1
        hits[i, [4, 12, 20, 28], 1] = 1
        hits[i, g.choice(32, 5, replace=False), 0] = 1
        hits[i, g.choice(32, 2, replace=False), 4 + i % 3] = 1
    vel = g.uniform(0.3, 1, hits.shape).astype(np.float32) * hits
    off = g.uniform(-0.3, 0.3, hits.shape).astype(np.float32) * hits
    return torch.from_numpy(np.concatenate([hits, vel, off], -1))


def test_tiny_model_overfits_a_handful_of_patterns():
    """Trained on the posterior means, a tiny model reproduces its grooves exactly."""
    torch.manual_seed(0)
    x = grooves(3)
    model = DrumVAE(
        ModelConfig(
            **{**TINY, "z_dim": 16, "encoder_hidden": 64, "decoder_hidden": 128},
            history_dropout=0.0,
        )
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(1, 1001):
        mu, sigma = model.encode(x)
        loss, _ = vae_loss(model.decode_teacher_forced(mu, x), x, mu, sigma, 0.0, 0.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0:
            with torch.no_grad():
                decoded = model.generate(model.encode(x)[0])
            if torch.equal(decoded[..., :9], x[..., :9]):
                break
    assert torch.equal(decoded[..., :9], x[..., :9]), f"not reproduced after {step} steps"
    hits = x[..., :9] > 0
    assert (decoded[..., 9:18] - x[..., 9:18])[hits].abs().mean() < 0.1
    assert (decoded[..., 18:] - x[..., 18:])[hits].abs().mean() < 0.1
