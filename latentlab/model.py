"""DrumVAE: a recurrent VAE over HVO drum patterns (MusicVAE/GrooVAE style), in one file.

Encoder: a bidirectional GRU over the (T, 27) HVO sequence -> mu, sigma -> z.
Decoder: an autoregressive GRU that, at each step, sees the previous step's HVO and its
conditioning vector and emits three heads: hit logits, velocities (0..1) and offsets
(-0.5..0.5). A flat decoder is conditioned on z over the whole pattern; a hierarchical one
has a conductor GRU that turns z into one embedding per bar, and the same core decoder then
runs each bar from its embedding (bars in parallel, as a batch).

Training runs the decoder teacher-forced over whole sequences with one fused `nn.GRU` call.
Generation runs step by step with the GRU equations written out, so the z-dependent part of
the input projection is computed once per pattern instead of once per step: that, and
decoding the bars of a hierarchical model side by side, is what makes one decode take a
few milliseconds on a CPU.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.pattern import HITS, HVO_DIM, N_CLASSES, OFFSETS, VELOCITIES


@dataclass
class ModelConfig:
    """Every size of a DrumVAE."""

    bars: int = 2
    steps_per_bar: int = 16
    z_dim: int = 256
    encoder_hidden: int = 256
    encoder_layers: int = 1
    decoder_hidden: int = 256
    decoder_layers: int = 1
    hierarchical: bool = False
    conductor_hidden: int = 256
    # The encoder reads each bar on its own and z is drawn from all bars' summaries, so a
    # long pattern is not squeezed through one recurrent state (the 4-bar model underfit so).
    bar_encoder: bool = False
    # A hierarchical model's bar embeddings come from z by one linear map (one slice of z's
    # projection per bar) instead of a conductor GRU.
    linear_conductor: bool = False
    dropout: float = 0.1
    # Training only: the chance that the decoder's view of a previous step is blanked, so it
    # leans on z and copes with its own mistakes when it runs free (word dropout, Bowman 2016).
    history_dropout: float = 0.4

    @property
    def steps(self) -> int:
        return self.bars * self.steps_per_bar

    @property
    def segment_steps(self) -> int:
        """Steps the core decoder runs per conditioning vector (a bar, or the whole pattern)."""
        return self.steps_per_bar if self.hierarchical else self.steps

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DecoderOutput:
    """Per-step predictions: hit logits, velocities and offsets, each (B, T, 9)."""

    hit_logits: torch.Tensor
    velocities: torch.Tensor
    offsets: torch.Tensor

    def hvo(self, hits: torch.Tensor) -> torch.Tensor:
        """(B, T, 27) HVO with the given hits; velocity and offset zeroed where no hit."""
        return torch.cat([hits, self.velocities * hits, self.offsets * hits], dim=-1)


class DrumVAE(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        self.encoder = nn.GRU(
            HVO_DIM,
            c.encoder_hidden,
            num_layers=c.encoder_layers,
            batch_first=True,
            bidirectional=True,
            dropout=c.dropout if c.encoder_layers > 1 else 0.0,
        )
        summary = 2 * c.encoder_hidden * (c.bars if c.bar_encoder else 1)
        self.to_mu = nn.Linear(summary, c.z_dim)
        self.to_sigma = nn.Linear(summary, c.z_dim)
        cond_dim = c.z_dim
        if c.hierarchical and c.linear_conductor:
            self.conductor_map = nn.Linear(c.z_dim, c.bars * c.conductor_hidden)
            cond_dim = c.conductor_hidden
        elif c.hierarchical:
            self.conductor_init = nn.Linear(c.z_dim, c.conductor_hidden)
            self.conductor = nn.GRU(c.z_dim, c.conductor_hidden, batch_first=True)
            cond_dim = c.conductor_hidden
        self.decoder_init = nn.Linear(cond_dim, c.decoder_layers * c.decoder_hidden)
        self.decoder = nn.GRU(
            HVO_DIM + cond_dim,
            c.decoder_hidden,
            num_layers=c.decoder_layers,
            batch_first=True,
            dropout=c.dropout if c.decoder_layers > 1 else 0.0,
        )
        self.head = nn.Linear(c.decoder_hidden, 3 * N_CLASSES)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    # ---- encoder ----------------------------------------------------------------------
    def encode(self, hvo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, 27) -> mu, sigma, each (B, z_dim)."""
        c = self.config
        batch = hvo.shape[0]
        if c.bar_encoder:
            hvo = hvo.reshape(batch * c.bars, c.steps_per_bar, HVO_DIM)
        _, h = self.encoder(hvo)
        last = torch.cat([h[-2], h[-1]], dim=-1).reshape(batch, -1)
        return self.to_mu(last), F.softplus(self.to_sigma(last)) + 1e-4

    # ---- conditioning -----------------------------------------------------------------
    def _conditions(self, z: torch.Tensor) -> torch.Tensor:
        """One conditioning vector per decoded segment: (B * segments, cond_dim)."""
        c = self.config
        if not c.hierarchical:
            return z
        if c.linear_conductor:
            return torch.tanh(self.conductor_map(z)).reshape(-1, c.conductor_hidden)
        h0 = torch.tanh(self.conductor_init(z)).unsqueeze(0)
        out, _ = self.conductor(z.unsqueeze(1).expand(-1, c.bars, -1).contiguous(), h0)
        return out.reshape(-1, c.conductor_hidden)

    def _initial_state(self, cond: torch.Tensor) -> torch.Tensor:
        c = self.config
        h = torch.tanh(self.decoder_init(cond))
        return h.view(-1, c.decoder_layers, c.decoder_hidden).transpose(0, 1).contiguous()

    def _heads(self, out: torch.Tensor) -> DecoderOutput:
        logits, vel, off = self.head(out).split(N_CLASSES, dim=-1)
        return DecoderOutput(logits, torch.sigmoid(vel), 0.5 * torch.tanh(off))

    # ---- teacher-forced decoder (training) ----------------------------------------------
    def decode_teacher_forced(self, z: torch.Tensor, target: torch.Tensor) -> DecoderOutput:
        """Predict every step from the true previous steps: one fused GRU call. A flat model
        also takes a target shorter than its window (the opening steps only)."""
        c = self.config
        cond = self._conditions(z)
        steps = c.segment_steps if c.hierarchical else target.shape[1]
        segments = target.reshape(-1, steps, HVO_DIM)
        previous = F.pad(segments[:, :-1], (0, 0, 1, 0))
        if self.training and c.history_dropout > 0:
            keep = torch.rand(previous.shape[:-1], device=previous.device) >= c.history_dropout
            previous = previous * keep.unsqueeze(-1)
        inputs = torch.cat([previous, cond.unsqueeze(1).expand(-1, steps, -1)], -1)
        out, _ = self.decoder(inputs, self._initial_state(cond))
        out = out.reshape(z.shape[0], -1, c.decoder_hidden)
        return self._heads(out)

    def forward(self, hvo: torch.Tensor) -> tuple[DecoderOutput, torch.Tensor, torch.Tensor]:
        """Encode, sample z with the reparameterisation trick, decode teacher-forced."""
        mu, sigma = self.encode(hvo)
        z = mu + sigma * torch.randn_like(mu)
        return self.decode_teacher_forced(z, hvo), mu, sigma

    # ---- free-running decoder (generation) ---------------------------------------------
    @torch.inference_mode()
    def generate(
        self,
        z: torch.Tensor,
        temperature: float | None = None,
        generator: torch.Generator | None = None,
        prefix: torch.Tensor | None = None,
        readings: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Decode z (B, z_dim) to HVO (B, T, 27), feeding each step's output to the next.

        temperature None or 0: greedy (a hit where its probability exceeds 0.5); else hits
        are sampled from Bernoulli(sigmoid(logit / temperature)). `prefix` (B, K, 27), K <= T,
        is played as given for the first K steps: the decoder hears it as its own history,
        so what follows goes on from it (a continuation). `readings`: also return what the
        decoder read at every step (B, T, 27): the chance of a hit on each drum (before any
        temperature), its velocity and offset, as a teacher-forced pass over the output would
        (a flat decoder's prefix steps read as the prefix itself).
        """
        c = self.config
        cond = self._conditions(z)
        n = cond.shape[0]
        forced = None
        if prefix is not None and c.hierarchical:
            k = prefix.shape[1]
            forced = F.pad(prefix.to(cond.dtype), (0, 0, 0, c.steps - k))
            forced = forced.reshape(n, c.segment_steps, HVO_DIM)
            mask = (torch.arange(c.steps, device=cond.device) < k).expand(z.shape[0], -1)
            mask = mask.reshape(n, c.segment_steps, 1)
        layers = []
        for i in range(c.decoder_layers):
            w_ih = getattr(self.decoder, f"weight_ih_l{i}")
            b_ih = getattr(self.decoder, f"bias_ih_l{i}")
            w_hh = getattr(self.decoder, f"weight_hh_l{i}")
            b_hh = getattr(self.decoder, f"bias_hh_l{i}")
            if i == 0:
                # The conditioning part of the first layer's input is constant: project it once.
                constant = torch.addmm(b_ih, cond, w_ih[:, HVO_DIM:].t())
                w_in = w_ih[:, :HVO_DIM].t()
            else:
                constant, w_in = b_ih.expand(n, -1), w_ih.t()
            layers.append((constant, w_in, w_hh.t(), b_hh))
        h = list(self._initial_state(cond).unbind(0))
        w_head, b_head = self.head.weight.t(), self.head.bias
        previous = cond.new_zeros(n, HVO_DIM)
        steps = []
        if prefix is not None and prefix.shape[1] and not c.hierarchical:
            # A flat decoder hears the prefix in one fused pass; only the steps after it loop.
            known = prefix.to(cond.dtype)
            history = F.pad(known[:, :-1], (0, 0, 1, 0))
            inputs = torch.cat([history, cond.unsqueeze(1).expand(-1, known.shape[1], -1)], -1)
            _, state = self.decoder(inputs, self._initial_state(cond))
            h, previous, steps = list(state.unbind(0)), known[:, -1], list(known.unbind(1))
        read = list(steps)
        for _ in range(len(steps), c.segment_steps):
            x = previous
            for i, (constant, w_in, w_hh, b_hh) in enumerate(layers):
                gi = torch.addmm(constant, x, w_in)
                gh = torch.addmm(b_hh, h[i], w_hh)
                i_r, i_u, i_n = gi.chunk(3, 1)
                h_r, h_u, h_n = gh.chunk(3, 1)
                r = torch.sigmoid(i_r + h_r)
                u = torch.sigmoid(i_u + h_u)
                cand = torch.tanh(i_n + r * h_n)
                h[i] = x = cand + u * (h[i] - cand)
            logits, vel, off = torch.addmm(b_head, x, w_head).split(N_CLASSES, 1)
            if not temperature:
                hits = (logits > 0).to(logits.dtype)
            else:
                p = torch.sigmoid(logits / temperature)
                hits = torch.bernoulli(p, generator=generator)
            vel, off = torch.sigmoid(vel), 0.5 * torch.tanh(off)
            if readings:
                read.append(torch.cat([torch.sigmoid(logits), vel, off], 1))
            previous = torch.cat([hits, vel * hits, off * hits], 1)
            if forced is not None:
                previous = torch.where(mask[:, len(steps)], forced[:, len(steps)], previous)
            steps.append(previous)
        hvo = torch.stack(steps, 1).reshape(z.shape[0], c.steps, HVO_DIM)
        if readings:
            return hvo, torch.stack(read, 1).reshape(z.shape[0], c.steps, HVO_DIM)
        return hvo


@torch.no_grad()
def prefix_loss(model: DrumVAE, z: torch.Tensor, prefix: torch.Tensor) -> torch.Tensor:
    """How badly each z (B, z_dim) explains a prefix (B, K, 27) as the start of its decode:
    hit cross-entropy plus velocity and offset squared errors over the first K steps (B,)."""
    k = prefix.shape[1]
    target = (
        F.pad(prefix, (0, 0, 0, model.config.steps - k)) if model.config.hierarchical else prefix
    )
    out = model.decode_teacher_forced(z, target)
    hits = prefix[..., HITS]
    logits = out.hit_logits[:, :k]
    bce = F.binary_cross_entropy_with_logits(logits, hits, reduction="none").sum((1, 2))
    vel = ((out.velocities[:, :k] - prefix[..., VELOCITIES]) ** 2 * hits).sum((1, 2))
    off = ((out.offsets[:, :k] - prefix[..., OFFSETS]) ** 2 * hits).sum((1, 2))
    return bce + vel + off


def kl_divergence(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma) || N(0, 1)) in nats, summed over z, one value per example."""
    return 0.5 * (mu.pow(2) + sigma.pow(2) - 1).sum(-1) - torch.log(sigma).sum(-1)


def nats_to_bits(nats: torch.Tensor | float) -> torch.Tensor | float:
    return nats / math.log(2)
