"""latentlab: explore the latent space of a drum-pattern VAE."""

from latentlab.errors import LatentLabError
from latentlab.pattern import DRUM_CLASSES, DrumPattern

__all__ = ["DRUM_CLASSES", "DrumPattern", "LatentLabError"]
__version__ = "0.1.0"
