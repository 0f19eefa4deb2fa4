"""One lifecycle for every model a service serves (after immich's machine-learning
``InferenceModel``): built cheaply from its settings, loaded once, served, unloaded.

* ``Model``: the base of every leaf model (an ONNX session, a torch module, a diffusers
  pipeline, OCR engines, an HTTP client to a language model). ``load()`` runs ``_load()`` once
  under a lock however many threads ask at once; ``unload()`` runs ``_unload()`` (the next
  ``load()`` loads again); ``loaded`` says which. Construction loads nothing, so a server
  opens its port first and reports SERVING once ``load()`` returned.
* ``Loadable``: anything a composition root may get ready ahead of the first image: the
  models, the composites holding them (an ``Extractor``, a ``Remixer``) and the gRPC clients
  (which wait for their peer's model). ``load_all`` loads those among its arguments; pure
  functions (the CPU inpainters) have nothing to load and are passed over.
* The registry of each service (``globalpic_segmentation.registry``,
  ``globalpic_generation.registry``, ``globalpic_ocr.registry.build_detector``,
  ``globalpic_copywriting.registry.build_copywriter``) maps the name in its settings to a
  class; servers build through it and never look a loader up by name.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Protocol, runtime_checkable


@runtime_checkable
class Loadable(Protocol):
    def load(self) -> None: ...


@runtime_checkable
class Unloadable(Protocol):
    """A ``Model``, or a holder of models (an extractor, a remixer, canvas backends) that
    passes ``unload()`` on to them."""

    def unload(self) -> None: ...


class Model(ABC):
    """A leaf model: ``_load`` and ``_unload`` are its own; locking and state are here."""

    def __init__(self) -> None:
        self._lifecycle_lock = threading.Lock()
        self._is_loaded = False

    @property
    def loaded(self) -> bool:
        return self._is_loaded

    def load(self) -> None:
        """Load the weights (once); ``ModelUnavailableError`` when they are missing."""
        with self._lifecycle_lock:
            if not self._is_loaded:
                self._load()
                self._is_loaded = True

    def unload(self) -> None:
        """Release the weights (memory, GPU); a later ``load()`` or use loads them again."""
        with self._lifecycle_lock:
            if self._is_loaded:
                self._unload()
                self._is_loaded = False

    @abstractmethod
    def _load(self) -> None:
        """Load the weights; called once per ``load()`` after construction or ``unload()``."""

    @abstractmethod
    def _unload(self) -> None:
        """Drop every reference to the weights."""


def load_all(*components: object) -> None:
    """``load()`` each component that is ``Loadable``, in order."""
    for component in components:
        if isinstance(component, Loadable):
            component.load()


def unload_all(*components: object) -> None:
    """``unload()`` each component that has one (``Unloadable``), in order; the rest (pure
    functions, gRPC clients) hold no model."""
    for component in components:
        if isinstance(component, Unloadable):
            component.unload()
