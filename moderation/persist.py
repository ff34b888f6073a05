"""Model directories on disk: save, load, verify.

A model is a directory: ``model.skops`` (the Pipeline, the category classifiers
and the threshold), ``card.json`` (the ``ModelCard``, with the model file's
sha256) and ``MODEL_CARD.md`` rendered from it. The model file is in skops's
format, which rebuilds objects from a schema without running pickled code and
refuses types it has not been told to trust; the sha256 is checked before
anything is read. A ``model.joblib`` written by moderation 0.1.0 is a pickle,
which runs code when loaded: it is refused unless the caller trusts it
(``trust_pickle=True``), which is also the only way to convert one (load it
trusted, save it again).

Saving is byte-reproducible: skops names its array files and marks shared objects
by ``id()``, which changes from run to run, so ``canonical_skops`` renumbers them
in order of appearance and fixes the zip's dates. That rewrite depends on the
layout of skops's zip file, so the skops versions it was written for are pinned
in ``pyproject.toml`` and a test fails if the layout changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import warnings
import zipfile
from importlib import resources
from pathlib import Path

from .card import ModelCard, ModelFile, render_model_card
from .errors import ModelFileError, ModelIntegrityError, ParameterError, UntrustedModelError, literal

__all__ = ["save_model", "load_model", "verify_model", "is_pickle", "check_save_target", "default_model_path",
           "canonical_skops", "sha256_file", "Saved", "built", "current", "pipeline_steps", "feature_blocks",
           "versions", "warn_other_scikit_learn", "MODEL_FILE", "LEGACY_MODEL_FILE", "CARD_FILE", "CARD_MD_FILE",
           "TRUSTED_TYPES"]

MODEL_FILE = "model.skops"
LEGACY_MODEL_FILE = "model.joblib"  # written by moderation 0.1.0; a pickle, loaded only when its sha256 matches
# the project's own classes in a Pipeline; skops trusts scikit-learn's estimators, numpy arrays and builtins itself
TRUSTED_TYPES = ("moderation.features.HashedTfidf", "moderation.normalize.TextNormalizer")
CARD_FILE = "card.json"
CARD_MD_FILE = "MODEL_CARD.md"
DEFAULT_MODEL = "default"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def versions() -> dict:
    """The versions of what writes a model file (recorded in its card)."""
    from importlib.metadata import version

    import numpy as np
    import sklearn

    from . import __version__

    return {"python": sys.version.split()[0], "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "skops": version("skops"), "moderation": __version__}


def default_model_path() -> Path:
    """The directory of the shipped default model: package data when installed, else ``models/`` of the checkout."""
    try:
        return Path(str(resources.files("moderation.shipped") / DEFAULT_MODEL))
    except ModuleNotFoundError:  # running from a source checkout that is not installed
        return Path(__file__).resolve().parent.parent / "models" / DEFAULT_MODEL


# -- saving ---------------------------------------------------------------------------------------

def check_save_target(path: str | Path, force: bool = False) -> None:
    """Refuse, before any work, to write a model to ``path`` when it is a file or already holds a model
    (unless ``force``)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{{out}} {literal(path)} is a file, not a model directory", "out")
    if not path.parent.exists():
        raise ParameterError(f"{{out}} {literal(path)}: the directory {literal(path.parent)} does not exist", "out")
    holds = [name for name in (CARD_FILE, MODEL_FILE, LEGACY_MODEL_FILE) if (path / name).exists()]
    if holds and not force:
        raise ParameterError(f"{{out}} {literal(path)} already holds a model ({', '.join(holds)}); give {{force}} "
                             "to replace it", "out", "force")



def save_model(model, path: str | Path) -> Path:
    """Write ``model.skops``, ``card.json`` (with the model file's sha256) and ``MODEL_CARD.md`` to ``path``.

    The model's card gets the threshold, the file's name, sha256 and size, and the
    versions that wrote it. The same model gives the same bytes.
    """
    import skops.io as sio

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model_path = path / MODEL_FILE
    tmp = model_path.with_suffix(".skops.tmp")
    data = sio.dumps({"pipeline": model.pipeline, "threshold": float(model.threshold),
                      "categories": model.categories, "calibrator": model.calibrator,
                      "sentences": bool(model.sentences)})
    tmp.write_bytes(canonical_skops(data))
    tmp.replace(model_path)
    (path / LEGACY_MODEL_FILE).unlink(missing_ok=True)
    card = model.card
    card.threshold = float(model.threshold)
    card.file = ModelFile(name=MODEL_FILE, sha256=sha256_file(model_path), bytes=model_path.stat().st_size)
    card.versions = versions()
    write_card(path, card)
    return path


def write_card(path: str | Path, card: ModelCard) -> None:
    """``card.json`` and ``MODEL_CARD.md`` in the model directory ``path`` (the model file is untouched)."""
    path = Path(path)
    (path / CARD_FILE).write_text(json.dumps(card.to_dict(), indent=2) + "\n")
    (path / CARD_MD_FILE).write_text(render_model_card(card))


_MEMBER = re.compile(r"\d+\.\w+")


def canonical_skops(data: bytes) -> bytes:
    """A skops file with its object ids numbered in order of appearance and fixed zip dates.

    Every member but ``schema.json`` must be named ``<id>.<ext>`` and the schema must
    mark objects with ``"__id__": <id>``: the layout of the skops versions this was
    written for. Anything else raises ``ModelFileError`` rather than writing a file
    whose references might not resolve.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    members = [i.filename for i in src.infolist() if i.filename != "schema.json"]
    if "schema.json" not in src.namelist() or not all(_MEMBER.fullmatch(name) for name in members):
        raise ModelFileError("this skops version writes files in a layout moderation does not know "
                             f"(members: {', '.join(sorted(src.namelist())[:5])}); install the skops version "
                             "pinned in moderation's requirements")
    schema = src.read("schema.json").decode("utf-8")
    names = "|".join(re.escape(name) for name in members) or "(?!)"
    order: dict[str, str] = {}
    for m in re.finditer(rf'"__id__": (\d+)|"({names})"', schema):
        # from 1: skops takes an __id__ of 0 for "no id" and would not share that object
        order.setdefault(m.group(1) or m.group(2).split(".")[0], str(len(order) + 1))

    def renamed(name: str) -> str:
        stem, ext = name.split(".", 1)
        return f"{order.get(stem, stem)}.{ext}"

    schema = re.sub(r'("__id__": )(\d+)', lambda m: m.group(1) + order[m.group(2)], schema)
    schema = re.sub(rf'"({names})"', lambda m: f'"{renamed(m.group(1))}"', schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            name, body = info.filename, src.read(info.filename)
            if name == "schema.json":
                body = schema.encode("utf-8")
            else:
                name = renamed(name)
            dst.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), body,
                         compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()


# -- verifying and loading ------------------------------------------------------------------------

def _model_file(directory: Path, card: dict, card_path: Path) -> Path:
    """The model file the card names: ``model.skops``, or a legacy ``model.joblib``."""
    try:
        name = card["file"]["name"]
        card["file"]["sha256"]
    except (KeyError, TypeError) as e:
        raise ModelFileError(f"unreadable model card {card_path}: missing {e}") from None
    if name not in (MODEL_FILE, LEGACY_MODEL_FILE):
        raise ModelFileError(f"unreadable model card {card_path}: unknown model file {name!r}")
    return directory / name


def _read_verified(path: str | Path | None) -> tuple[Path, ModelCard, Path, bytes]:
    """The directory, card, model file and its bytes, after checking the bytes' sha256 against the card."""
    directory = default_model_path() if path is None else Path(path)
    card_path = directory / CARD_FILE
    if not directory.is_dir():
        raise ModelFileError(f"model directory not found: {directory}")
    if not card_path.is_file():
        raise ModelFileError(f"not a model directory (needs {MODEL_FILE} and {CARD_FILE}): {directory}")
    try:
        raw = json.loads(card_path.read_text())
    except ValueError as e:
        raise ModelFileError(f"unreadable model card {card_path}: {e}") from None
    if not isinstance(raw, dict):
        raise ModelFileError(f"unreadable model card {card_path}: not a JSON object")
    model_path = _model_file(directory, raw, card_path)
    if not model_path.is_file():
        raise ModelFileError(f"not a model directory (needs {model_path.name} and {CARD_FILE}): {directory}")
    try:
        card = ModelCard.from_dict(raw)
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"unreadable model card {card_path}: {e}") from None
    data = model_path.read_bytes()
    actual, expected = hashlib.sha256(data).hexdigest(), card.sha256
    if actual != expected:
        raise ModelIntegrityError(f"{model_path} does not match its model card (sha256 {actual[:12]}…, "
                                  f"card says {str(expected)[:12]}…): refusing to load a tampered or truncated model")
    return directory, card, model_path, data


def verify_model(path: str | Path | None = None) -> ModelCard:
    """Check a model directory without loading the model; its card if the model file matches it.

    Raises ``ModelFileError`` when the directory, the card or the model file is
    missing or unreadable, and ``ModelIntegrityError`` when the model file's
    sha256 differs from the card's (a tampered or truncated file). ``is_pickle``
    says whether the file is a legacy pickle.
    """
    return _read_verified(path)[1]


def is_pickle(card: ModelCard) -> bool:
    """Whether a card's model file is a legacy pickle (``model.joblib``), which runs code when loaded."""
    return card.file is not None and card.file.name == LEGACY_MODEL_FILE


def load_model(path: str | Path | None = None, *, trust_pickle: bool = False):
    """Load a model directory (the shipped default model when ``path`` is None) as a ``Model``.

    The model file's sha256 must match the card's, and a skops file may hold only
    the types skops trusts by default (scikit-learn's estimators, numpy arrays,
    builtins) and ``TRUSTED_TYPES``: anything else is refused before an object is
    built. A legacy ``model.joblib`` is a pickle, which runs code when loaded: it
    is refused unless ``trust_pickle`` (then loaded with a warning; save the model
    again to convert it). A model whose feature settings cannot work (an n-gram
    range from 3 to 1) is refused too. A model file of the usual make is read
    without importing scikit-learn: its scikit-learn objects are built when first
    asked for (``Model.pipeline``), which scoring does not need.
    """
    from .model import Model

    directory, card, model_path, data = _read_verified(path)
    if model_path.name == LEGACY_MODEL_FILE and not trust_pickle:
        raise ParameterError(f"{literal(model_path)} is a pickle (written by moderation 0.1.0), which runs code when "
                             "loaded: refusing it. Only if you trust where it came from, load it with "
                             "{trust_pickle}, and save it again to convert it to the safe skops format",
                             "trust_pickle")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
        if model_path.name == LEGACY_MODEL_FILE:
            import joblib

            warnings.warn(f"{model_path} is a pickle (moderation 0.1.0): load it only from a source you trust, and "
                          "save it again to write the safe skops format", UserWarning, stacklevel=2)
            payload = joblib.load(io.BytesIO(data))
        else:
            payload = _load_skops(model_path, data)
    _check_settings(model_path, payload)
    if not isinstance(payload["pipeline"], Saved):  # scikit-learn's objects are built already, and score
        warn_other_scikit_learn(card, str(directory), stacklevel=2)
    return Model(pipeline=payload["pipeline"], threshold=float(payload["threshold"]), card=card,
                 categories=payload.get("categories", {}), calibrator=payload.get("calibrator"),
                 sentences=bool(payload.get("sentences", False)))


def warn_other_scikit_learn(card: ModelCard, model: str, stacklevel: int = 1) -> None:
    """Warn when ``card`` says its model was written with another scikit-learn than the one installed.

    Called when a model's scikit-learn objects are built (a model read the usual
    way scores without them), since only they can behave differently.
    """
    from importlib.metadata import PackageNotFoundError, version

    written_with = card.versions.get("scikit-learn")
    try:
        installed = version("scikit-learn")
    except PackageNotFoundError:  # pragma: no cover - a dependency of the package
        installed = None
    if written_with and written_with != installed:
        warnings.warn(f"model {model} was written with scikit-learn {written_with}, "
                      f"this is scikit-learn {installed}: its scikit-learn objects may behave differently",
                      UserWarning, stacklevel=stacklevel + 1)


def _check_settings(model_path: Path, payload) -> None:
    """Refuse a model whose feature extractors' settings cannot work, before it fails while scoring."""
    from .features import HashedTfidfCore

    pipeline = payload.get("pipeline") if isinstance(payload, dict) else None
    steps = pipeline_steps(pipeline)
    if steps is None or "threshold" not in payload:
        raise ModelFileError(f"{model_path} does not hold a moderation model (a pipeline and a threshold)")
    for name, step in steps.items():
        parts = step.transformer_list if hasattr(step, "transformer_list") else [(name, step)]
        for part, transformer in parts:
            transformer = current(transformer)
            if isinstance(transformer, HashedTfidfCore):
                try:
                    transformer._settings()
                except ValueError as e:
                    raise ModelFileError(f"{model_path}: the {part!r} features have an impossible setting: {e}"
                                         ) from None


# What a moderation model's skops file is built of, and all that ``_load_known`` reads: every other node or type
# sends the file to skops itself. Each of these is one skops trusts (its defaults and ``TRUSTED_TYPES``).
_KNOWN_CLASSES = frozenset({("sklearn.pipeline", "Pipeline"), ("sklearn.pipeline", "FeatureUnion"),
                            ("sklearn.linear_model._logistic", "LogisticRegression"),
                            ("moderation.features", "HashedTfidf"), ("moderation.normalize", "TextNormalizer")})
_KNOWN_TYPES = frozenset({("builtins", "str"), ("builtins", "int"), ("builtins", "float"), ("builtins", "bool"),
                          ("numpy", "float32"), ("numpy", "float64"), ("numpy", "int32"), ("numpy", "int64")})
_CONTAINERS = {("DictNode", "dict"), ("ListNode", "list"), ("TupleNode", "tuple")}
# moderation's own classes without scikit-learn's estimator protocol: what scoring uses until an object is built
_CORES = {("moderation.features", "HashedTfidf"): ("moderation.features", "HashedTfidfCore"),
          ("moderation.normalize", "TextNormalizer"): ("moderation.normalize", "TextNormalizerCore")}


class Saved:
    """An object of a model file, read but not built: ``where`` (its class's module and name) and ``plain``,
    what scoring uses until then: an instance of the scikit-learn-free core of moderation's own classes, or a
    namespace of a scikit-learn object's attributes (a classifier's ``coef_`` and ``intercept_``).

    ``build()`` makes the object itself, as skops would, once: importing scikit-learn
    takes about a second, which scoring a loaded model does without. The object is
    built from ``plain``'s attributes as they are then (the scoring table may have
    replaced a classifier's ``coef_`` by a view of its own columns: the same values, held
    once), and ``plain`` is let go.
    """

    __slots__ = ("where", "_plain", "_built")

    def __init__(self, where: tuple[str, str], plain):
        self.where, self._plain, self._built = where, plain, None

    @property
    def current(self):
        """The object scoring uses: the built one once there is one, else ``plain``."""
        return self._plain if self._built is None else self._built

    def build(self):
        if self._built is None:
            import importlib

            cls = getattr(importlib.import_module(self.where[0]), self.where[1])
            obj = cls.__new__(cls)
            attrs = {name: built(value) for name, value in vars(self._plain).items()}
            with warnings.catch_warnings():  # the card's versions are compared when loading
                warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
                if hasattr(obj, "__setstate__"):
                    obj.__setstate__(attrs)
                else:
                    obj.__dict__.update(attrs)
            self._built, self._plain = obj, None
        return self._built


def built(value):
    """``value`` with every ``Saved`` object in it (in lists, tuples and dicts) built."""
    if isinstance(value, Saved):
        return value.build()
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Saved, list, tuple, dict)) for v in value):
        items = [built(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict) and any(isinstance(v, (Saved, list, tuple, dict)) for v in value.values()):
        return {k: built(v) for k, v in value.items()}
    return value


def current(value):
    """What scoring uses for ``value``: a ``Saved`` object's ``current``, anything else itself."""
    return value.current if isinstance(value, Saved) else value


def pipeline_steps(pipeline) -> dict | None:
    """A Pipeline's steps by name, each as scoring uses it (``current``), for a Pipeline or a ``Saved`` one; None
    for anything else."""
    if isinstance(pipeline, Saved):
        if pipeline.where != ("sklearn.pipeline", "Pipeline"):
            return None
        return {name: current(step) for name, step in current(pipeline).steps}
    from sklearn.pipeline import Pipeline

    return {name: step for name, step in pipeline.steps} if isinstance(pipeline, Pipeline) else None


def feature_blocks(steps: dict) -> list:
    """The feature blocks of ``pipeline_steps``'s steps, as (name, block) in column order, each as scoring uses it;
    none without a ``features`` step (a FeatureUnion)."""
    union = steps.get("features")
    return [(name, current(t)) for name, t in union.transformer_list] if hasattr(union, "transformer_list") else []


class _NotKnown(Exception):
    """The skops file holds a node or a type ``_load_known`` does not read."""


def _load_known(data: bytes) -> dict | None:
    """The payload of a skops file built only of what a moderation model holds, its objects read as ``Saved``
    (built when asked for), without importing skops (about half a second: it lists every scikit-learn estimator
    to know which to trust) or scikit-learn; None when the file holds anything else, for skops to judge.

    Objects are read as skops makes them (``cls.__new__``, then ``__setstate__``
    or the attributes set; here deferred to ``Saved.build``), arrays with
    ``numpy.load(allow_pickle=False)``, and a node seen again by its id is the same object.
    """
    import importlib
    from types import SimpleNamespace

    import numpy as np

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        return None
    if not isinstance(schema, dict) or schema.get("protocol") != 2:
        return None
    try:
        arrays = _read_arrays(archive, [i.filename for i in archive.infolist() if i.filename.endswith(".npy")])
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError):  # RuntimeError: an encrypted member
        return None
    memo: dict = {}

    def build(state):
        if not isinstance(state, dict):
            raise _NotKnown
        saved = state.get("__id__")
        if saved is not None and saved in memo:
            return memo[saved]
        loader, where = state.get("__loader__"), (state.get("__module__"), state.get("__class__"))
        if loader == "JsonNode" and where[0] == "builtins":
            value = json.loads(state["content"])
        elif loader in ("DictNode", "ListNode", "TupleNode") and (loader, where[1]) in _CONTAINERS \
                and where[0] == "builtins":
            if loader == "DictNode":
                key_types = build(state["key_types"])
                value = {k_type(key): build(item) for k_type, (key, item) in zip(key_types, state["content"].items())}
            else:
                items = [build(item) for item in state["content"]]
                value = items if loader == "ListNode" else tuple(items)
        elif loader == "TypeNode" and where in _KNOWN_TYPES:
            value = getattr(importlib.import_module(where[0]), where[1])
        elif loader == "NdArrayNode" and where == ("numpy", "ndarray") and state.get("type") == "numpy":
            value = arrays.pop(state["file"])
        elif loader == "ObjectNode" and where in _KNOWN_CLASSES:
            if where in _CORES:
                core = getattr(importlib.import_module(_CORES[where][0]), _CORES[where][1])
                plain = core.__new__(core)
            else:
                plain = SimpleNamespace()
            if state.get("content") is not None:
                attrs = build(state["content"])
                if not isinstance(attrs, dict):
                    raise _NotKnown
                plain.__dict__.update(attrs)
            value = Saved(where, plain)
        else:
            raise _NotKnown
        if saved is not None:
            memo[saved] = value
        return value

    try:
        payload = build(schema)
    except (_NotKnown, KeyError, TypeError, ValueError, AttributeError):
        return None
    finally:
        # ``build`` refers to itself, so ``memo`` sits in a reference cycle: cleared, the arrays it holds are freed
        # as soon as the model lets them go (the scoring table replaces the coefficients) rather than at the next
        # garbage collection, which kept about 90 MB more alive while scoring
        memo.clear()
    return payload if isinstance(payload, dict) else None


def _read_arrays(archive: zipfile.ZipFile, names: list[str]) -> dict:
    """The arrays in the archive's members ``names`` (``numpy.load``, no pickles), half of their bytes read by a
    second thread: zlib lets go of the GIL while it inflates, which takes most of the time of loading a model
    (0.19 s of 0.25 s for the default one, one by one)."""
    import threading

    import numpy as np

    sizes = {i.filename: i.file_size for i in archive.infolist()}
    halves: tuple[list, list] = ([], [])
    load = [0, 0]
    for name in sorted(names, key=lambda n: -sizes[n]):  # the largest first, each to the lighter half
        half = 0 if load[0] <= load[1] else 1
        halves[half].append(name)
        load[half] += sizes[name]
    read: dict = {}
    failed: list[BaseException] = []

    def read_half(half):
        try:
            for name in half:
                read[name] = np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
            failed.append(e)

    helper = threading.Thread(target=read_half, args=(halves[1],), daemon=True)
    helper.start()
    read_half(halves[0])
    helper.join()
    if failed:
        raise failed[0]
    return read


def _load_skops(model_path: Path, data: bytes) -> dict:
    payload = _load_known(data)
    if payload is not None:
        return payload
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        # skops checks every type against the allow-list before it builds any object
        return sio.loads(data, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException:
        untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
        raise UntrustedModelError(f"{model_path} holds types this version of moderation does not trust: "
                                  f"{', '.join(untrusted)}; refusing to load it") from None
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as e:
        raise ModelFileError(f"{model_path} is not a readable skops model file: {e}") from None
