"""latentlab: explore the latent space of a drum-pattern VAE."""

from latentlab.errors import LatentLabError
from latentlab.pattern import DRUM_CLASSES, DrumPattern

__all__ = ["DRUM_CLASSES", "DrumPattern", "LatentLab", "LatentLabError"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """`latentlab.LatentLab`, imported on first use: it brings in torch (~3 s, ~200 MB), which
    `import latentlab` alone should not cost (a script that only reads and writes patterns)."""
    if name == "LatentLab":
        from latentlab.lab import LatentLab

        return LatentLab
    raise AttributeError(f"module 'latentlab' has no attribute {name!r}")
