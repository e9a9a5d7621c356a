"""Train the triage model on the train part of the corpus; pick its thresholds by cross-validation.

``python -m bot.triage train`` (the defaults: `eval/triage/train.jsonl`, the configured embedding
model, `bot/triage/model.{npz,json}`). Reproducible: the same corpus and embedding model give the
same files (a fixed fold assignment, deterministic solvers). The held-out part is never read.

The anticipated questions beside the corpus (`eval/anticipated/`, minus `ordinary-exclude.tsv`)
learn as `none` too, weighted as one `none` message of the corpus each (see `read_ordinary` and
`_fit`); the budgets below count the corpus's own `none` messages only.

Per variant (``full``: embedding + n-grams; ``ngrams``: n-grams only):

1. hyper-parameters (the regularization C and the embedding's weight alpha) by 5-fold
   cross-validated log-loss of the reason head;
2. out-of-fold probabilities for every training message with those hyper-parameters; in the
   ``full`` variant blended with the out-of-fold nearest-neighbour vote (`knn_probs`, fixed
   k=15, temperature 20, weight 0.5: no grid, the neighbours' figures varied by a point);
3. thresholds on them, each the lowest whose out-of-fold false alarms stay within a budget:
   ``crisis`` 8 % of `none` messages, ``escalate`` (on 1 - P(none), crisis included) 10 % of
   them, ``danger`` 10 % of them, ``caution`` (a message that is not escalated but whose
   P(crisis) reaches it gets the emergency numbers in a short note under its answer, and so
   does the reply of an escalated one without them) on 15 % of them counted among those not
   escalated, and ``crisis_share`` (an escalated message is a crisis when
   P(crisis) / (1 - P(none)) reaches it) 15 % of the escalated messages that are not a crisis:
   calling a sensitive case urgent costs a counselor's minutes, missing a crisis costs more
   (see `choose_thresholds`: crisis recall 1.0 at any cost was measured, and called half of
   the look-alikes a crisis);
4. the final heads fitted on all of the train part.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.informal import search_text
from bot.topics import TOPICS
from bot.triage.floor import Floor
from bot.triage.model import LABELS, MODEL_DIR, VARIANTS, knn_probs
from bot.triage.text import hashed, normalize

logger = logging.getLogger(__name__)

CORPUS_DIR = Path("eval/triage")
FOLDS = 5
C_GRID = (4.0,)
ALPHA_GRID = (3.0, 4.0)
MIN_DF = 2  # an n-gram bucket seen in fewer training messages carries no weight
# Out-of-fold false-alarm budgets on the `none` messages of the train part (see choose_thresholds).
# Those are look-alikes written to resemble a crisis; everyday questions alarm far less. Crisis
# recall first (the order): 3 % / 5 % alerted a person for 0.911 of the crisis messages out
# of fold; 8 % / 10 % alert one for 0.948, and call 0.4 % of the everyday questions a crisis
# (0.1 % before) and 10 % of the look-alikes escalated (5.5 %). Beyond that each point of recall
# cost about two points of false alarms (10 % / 12 %: 0.955; 15 % / 20 %: 0.973).
FALSE_CRISIS = 0.08
FALSE_ESCALATION = 0.10
FALSE_DANGER = 0.10
# A note with two numbers under an ordinary answer costs a line; a person in danger whom the
# model does not escalate has nothing else (cross-validated: numbers on 92 % of crisis messages
# without it, 96-97 % with a 10 % budget). With the crisis and escalation budgets above, 15 %:
# crisis messages left with no numbers out of fold 23 -> 16 of 1,002, for the note under 1.7 % of
# the everyday questions instead of 1.0 % (20 %: 13 and 2.8 %; 5 %: 29 and 0.2 %).
FALSE_CAUTION = 0.15
FALSE_CRISIS_SHARE = 0.15
KNN = {"k": 15, "temperature": 20.0, "weight": 0.5}


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    lang: str
    label: str
    topic: str
    danger: bool
    ordinary: bool = False  # an everyday question borrowed from the anticipated questions


# Everyday questions about the documents (`eval/anticipated/`, written for the search by writers
# who never saw triage) are `none` too: the triage corpus's own `none` messages are mostly
# look-alikes (hyperbole, crisis topics as information), and a model that saw few plain questions
# called about one in a hundred of them a crisis ("圖書館的列印站在幾樓？"). They teach the model
# what ordinary looks like; the false-alarm budgets stay measured on the corpus's own `none`.
# A reviewed list (`ordinary-exclude.tsv`) leaves out the few that a counselor would handle.
ORDINARY_DIR = Path("eval/anticipated")
ORDINARY_WEIGHT = 1.0
ORDINARY_EXCLUDE = CORPUS_DIR / "ordinary-exclude.tsv"


def read_corpus(path: Path) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["label"] not in LABELS or row["topic"] not in TOPICS:
            raise ValueError(f"{path}:{number}: label {row['label']!r} / topic {row['topic']!r}")
        examples.append(
            Example(row["id"], row["text"], row["lang"], row["label"], row["topic"],
                    bool(row["danger"]))  # fmt: skip
        )
    return examples


def corpus_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_ordinary(directory: Path = ORDINARY_DIR, exclude: Path = ORDINARY_EXCLUDE) -> list[Example]:
    """The anticipated questions as `none` examples, minus the reviewed exclusions (ids in the
    first column of `exclude`), in file and line order."""
    skipped = set()
    if exclude.exists():
        for line in exclude.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                skipped.add(line.split("\t", 1)[0].strip())
    examples = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row["id"] in skipped:
                continue
            examples.append(Example(f"o:{row['id']}", row["question"], row["lang"], "none",
                                    "other", False, ordinary=True))  # fmt: skip
    return examples


def ordinary_hash(directory: Path = ORDINARY_DIR, exclude: Path = ORDINARY_EXCLUDE) -> str:
    digest = hashlib.sha256()
    for path in [*sorted(directory.glob("*.jsonl")), exclude]:
        if path.exists():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def embed_all(examples: list[Example], embedder) -> np.ndarray:
    """The query vectors the bot computes for these messages (the search text, embedded)."""
    return np.stack([embedder.embed_query(search_text(e.text, e.lang)) for e in examples])


class Design:
    """The feature matrix: [alpha * embedding | hashed n-grams over the buckets seen]."""

    def __init__(self, examples: list[Example], vectors: np.ndarray | None) -> None:
        from scipy import sparse

        rows = [hashed(normalize(e.text)) for e in examples]
        df = Counter(b for r in rows for b in r)
        self.columns = np.array(sorted(b for b, n in df.items() if n >= MIN_DF), dtype=np.int64)
        index = {int(b): i for i, b in enumerate(self.columns)}
        data, indices, indptr = [], [], [0]
        for r in rows:
            for b, v in sorted((kv for kv in r.items() if kv[0] in index), key=lambda kv: index[kv[0]]):
                indices.append(index[b])
                data.append(v)
            indptr.append(len(indices))
        self.grams = sparse.csr_matrix(
            (np.array(data, dtype=np.float64), indices, indptr),
            shape=(len(rows), len(self.columns)),
        )
        self.vectors = vectors

    def matrix(self, variant: str, alpha: float):
        from scipy import sparse

        if variant == "ngrams" or self.vectors is None:
            return self.grams
        return sparse.hstack([sparse.csr_matrix(alpha * self.vectors), self.grams]).tocsr()

    @property
    def dims(self) -> int:
        return 0 if self.vectors is None else self.vectors.shape[1]


def _folds(examples: list[Example]) -> np.ndarray:
    """A fixed stratified fold per example (by language and label, in corpus order)."""
    fold = np.zeros(len(examples), dtype=int)
    seen: Counter[tuple[str, str]] = Counter()
    for i, e in enumerate(examples):
        key = (e.lang, "ordinary" if e.ordinary else e.label)
        fold[i] = seen[key] % FOLDS
        seen[key] += 1
    return fold


def _fit(x, y, c: float, *, balanced: bool = True, ordinary: np.ndarray | None = None):
    """A logistic regression. `balanced`: each class weighs as much as the others, counted on
    the corpus alone; an everyday question (`ordinary`) weighs ORDINARY_WEIGHT times a `none`
    message of the corpus, so that the borrowed questions add what ordinary looks like without
    diluting the corpus's own look-alikes."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=1000, tol=1e-4)
    if ordinary is None:
        ordinary = np.zeros(len(y), dtype=bool)
    weights = np.ones(len(y))
    if balanced:
        own = y[~ordinary]
        classes, counts = np.unique(own, return_counts=True)
        per_class = {cls: len(own) / (len(classes) * n) for cls, n in zip(classes, counts, strict=True)}
        weights = np.array([per_class.get(v, 1.0) for v in y])
    weights[ordinary] *= ORDINARY_WEIGHT
    return model.fit(x, y, sample_weight=weights)


def _oof(x, y, folds: np.ndarray, c: float, classes: list, ordinary: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold probabilities, columns in `classes` order."""
    out = np.zeros((len(y), len(classes)))
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        model = _fit(x[train], y[train], c, ordinary=None if ordinary is None else ordinary[train])
        probs = model.predict_proba(x[test])
        for j, cls in enumerate(model.classes_):
            out[test, classes.index(cls)] = probs[:, j]
    return out


def _oof_knn(vectors: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Out-of-fold nearest-neighbour votes, columns in LABELS order."""
    labels = np.array([LABELS.index(v) for v in y])
    out = np.zeros((len(y), len(LABELS)))
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        out[test] = knn_probs(vectors[test], vectors[train], labels[train], len(LABELS),
                              k=KNN["k"], temperature=KNN["temperature"])  # fmt: skip
    return out


def _log_loss(probs: np.ndarray, y: np.ndarray, classes: list) -> float:
    picked = probs[np.arange(len(y)), [classes.index(v) for v in y]]
    return float(-np.mean(np.log(np.clip(picked, 1e-9, 1.0))))


def choose_thresholds(oof_reason: np.ndarray, oof_danger: np.ndarray, examples: list[Example]) -> dict:
    """The lowest thresholds whose out-of-fold false alarms on `none` messages stay within
    FALSE_CRISIS (a crisis: numbers and urgent cards), FALSE_ESCALATION (any case opened) and
    FALSE_DANGER (numbers added to an escalated reply). Recall 1.0 at any cost would call half of
    the ordinary questions a crisis (measured: README); these bounds keep the alarms meaningful."""
    labels = np.array([e.label for e in examples])
    none = (labels == "none") & ~np.array([e.ordinary for e in examples])
    p_crisis = oof_reason[:, LABELS.index("crisis")]
    crisis_t = _lowest(p_crisis[none], FALSE_CRISIS)
    escalate_score = 1.0 - oof_reason[:, LABELS.index("none")]
    escalate_t = 1.0
    for t in np.unique(np.round(escalate_score, 4)):
        decided = (escalate_score[none] >= t) | (p_crisis[none] >= crisis_t)
        if np.mean(decided) <= FALSE_ESCALATION:
            escalate_t = float(t)
            break
    escalated = (escalate_score >= escalate_t) | (p_crisis >= crisis_t)
    share = p_crisis / np.maximum(escalate_score, 1e-9)
    other = escalated & (labels != "none") & (labels != "crisis")
    # the note goes under answers that are not escalated: its budget counts all `none` messages
    quiet = p_crisis[none & ~escalated]
    caution_t = _lowest(quiet, FALSE_CAUTION * none.sum() / max(len(quiet), 1))
    return {
        "crisis": crisis_t, "escalate": escalate_t, "caution": caution_t,
        "danger": _lowest(oof_danger[none], FALSE_DANGER),
        "crisis_share": _lowest(share[other], FALSE_CRISIS_SHARE) if other.any() else 0.5,
    }  # fmt: skip


def _lowest(scores: np.ndarray, rate: float) -> float:
    """The lowest threshold t with mean(scores >= t) <= rate."""
    ordered = np.sort(scores)[::-1]
    allowed = int(np.floor(rate * len(ordered)))
    return float(np.nextafter(ordered[allowed], 1.0)) if allowed < len(ordered) else 0.0


def _oof_report(oof_reason, oof_danger, examples, limits, floor_hits: np.ndarray) -> dict:
    """Out-of-fold figures of the whole decision (model and floor) on the train part."""
    labels = np.array([e.label for e in examples])
    ordinary = np.array([e.ordinary for e in examples])
    p_crisis = oof_reason[:, LABELS.index("crisis")]
    escalated = (p_crisis >= limits["crisis"]) | floor_hits | (
        1.0 - oof_reason[:, LABELS.index("none")] >= limits["escalate"]
    )
    share = p_crisis / np.maximum(1.0 - oof_reason[:, LABELS.index("none")], 1e-9)
    likeliest = oof_reason[:, :3].argmax(axis=1) == LABELS.index("crisis")
    crisis = (p_crisis >= limits["crisis"]) | floor_hits | (
        escalated & (likeliest | (share >= limits["crisis_share"]))
    )
    none = (labels == "none") & ~ordinary
    caution = ~escalated & (p_crisis >= limits["caution"])
    danger = escalated & (oof_danger >= limits["danger"])
    # an escalated reply without the numbers ends with the note at the caution line
    # (`Triager.classify`)
    noted = escalated & ~crisis & ~danger & (p_crisis >= limits["caution"])
    corpus = ~ordinary
    figures = {
        "crisis_recall": float(np.mean(crisis[labels == "crisis"])),
        "escalation_accuracy": float(np.mean((escalated == (labels != "none"))[corpus])),
        "false_escalation_on_none": float(np.mean(escalated[none])),
        "false_crisis_on_none": float(np.mean(crisis[none])),
        "crisis_or_numbers_on_crisis": float(np.mean((crisis | danger)[labels == "crisis"])),
        "numbers_on_crisis_with_caution": float(
            np.mean((crisis | danger | caution | noted)[labels == "crisis"])
        ),
        "caution_on_none": float(np.mean(caution[none])),
        # sensitive cases whose reply has the numbers (the table, or the note), and the note alone
        "numbers_on_sensitive": float(np.mean((crisis | danger | noted)[labels == "sensitive"])),
        "note_on_sensitive": float(np.mean(noted[labels == "sensitive"])),
    }
    if ordinary.any():  # the everyday questions: how often an ordinary question would alarm
        figures["ordinary_escalated"] = float(np.mean(escalated[ordinary]))
        figures["ordinary_crisis"] = float(np.mean(crisis[ordinary]))
        figures["ordinary_caution"] = float(np.mean(caution[ordinary]))
    return figures


def train(
    corpus: Path, embedder, out_dir: Path = MODEL_DIR, *, hyperparameters: dict | None = None,
    ordinary: bool = True,
) -> dict:
    """Fit, choose thresholds, write `model.npz` and `model.json`; return the metadata. With
    `ordinary`, the anticipated questions beside the corpus (`../anticipated/`) learn as `none`
    too (`read_ordinary`).
    `hyperparameters` (a model.json's content) reuses its hyper-parameters and thresholds and
    refits only the final weights: what a test runs to check the files match this corpus."""
    started = time.perf_counter()
    ordinary_dir = corpus.parent.parent / ORDINARY_DIR.name
    exclude = corpus.parent / ORDINARY_EXCLUDE.name
    extra = read_ordinary(ordinary_dir, exclude) if ordinary and ordinary_dir.is_dir() else []
    examples = read_corpus(corpus) + extra
    is_ordinary = np.array([e.ordinary for e in examples])
    vectors = embed_all(examples, embedder)
    design = Design(examples, vectors)
    folds = _folds(examples)
    y_reason = np.array([e.label for e in examples])
    y_danger = np.array([int(e.danger) for e in examples])
    y_topic = np.array([e.topic for e in examples])
    floor = Floor.load()
    floor_hits = np.array([floor.match(normalize(e.text), e.text) is not None for e in examples])
    fired = Counter(e.label for e, hit in zip(examples, floor_hits, strict=True) if hit)
    arrays: dict[str, np.ndarray] = {
        "columns": design.columns,
        "knn_vectors": (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float16),
        "knn_labels": np.array([LABELS.index(e.label) for e in examples], dtype=np.int8),
    }
    meta: dict = {
        "labels": list(LABELS), "topics": list(TOPICS), "embedder": embedder.name,
        "dims": design.dims, "corpus": str(corpus), "corpus_sha256": corpus_hash(corpus),
        "examples": len(examples), "folds": FOLDS, "thresholds": {}, "hyperparameters": {},
        "cross_validation": {}, "floor_fires": dict(fired), "knn": dict(KNN),
        "ordinary": {
            "directory": str(ordinary_dir), "examples": len(extra),
            "sha256": ordinary_hash(ordinary_dir, exclude) if extra else None,
        },
    }  # fmt: skip
    logger.info("floor cues fire on %s train messages by label", dict(fired))
    alpha_used = 1.0
    for variant in VARIANTS:
        grid = [(c, a) for c in C_GRID for a in (ALPHA_GRID if variant == "full" else (1.0,))]
        refit_only = hyperparameters is not None
        if refit_only:
            fixed = hyperparameters["hyperparameters"][variant]
            grid = [(fixed["C"], fixed["alpha"])]
        scored = []
        for c, alpha in grid:
            if refit_only:
                scored.append((0.0, c, alpha, None))
                break
            oof = _oof(design.matrix(variant, alpha), y_reason, folds, c, list(LABELS), is_ordinary)
            loss = _log_loss(oof, y_reason, list(LABELS))
            scored.append((loss, c, alpha, oof))
            logger.info("%s C=%g alpha=%g: log-loss %.4f", variant, c, alpha, loss)
        _, c, alpha, oof_reason = min(scored, key=lambda s: s[0])
        if variant == "full" and oof_reason is not None:
            w = KNN["weight"]
            oof_reason = (1.0 - w) * oof_reason + w * _oof_knn(vectors, y_reason, folds)
        if variant == "full":
            alpha_used = alpha
        x = design.matrix(variant, alpha)
        meta["hyperparameters"][variant] = {"C": c, "alpha": alpha}
        if refit_only:  # thresholds and figures as recorded; only the weights are refitted
            meta["thresholds"][variant] = hyperparameters["thresholds"][variant]
            meta["cross_validation"][variant] = hyperparameters["cross_validation"][variant]
        else:
            oof_danger = _oof(x, y_danger, folds, c, [0, 1], is_ordinary)[:, 1]
            limits = choose_thresholds(oof_reason, oof_danger, examples)
            meta["thresholds"][variant] = limits
            meta["cross_validation"][variant] = _oof_report(
                oof_reason, oof_danger, examples, limits, floor_hits
            )
            logger.info("%s thresholds %s, cross-validated %s", variant, limits,
                        meta["cross_validation"][variant])  # fmt: skip
        for head, y, classes in (
            ("reason", y_reason, list(LABELS)),
            ("danger", y_danger, [0, 1]),
            ("topic", y_topic, list(TOPICS)),
        ):
            # topics route escalations: learned from the corpus, whose messages have real ones
            rows = ~is_ordinary if head == "topic" else np.ones(len(y), dtype=bool)
            model = _fit(x[rows], y[rows], c, balanced=head != "topic", ordinary=is_ordinary[rows])
            weights, bias = _ordered(model, classes, head == "danger", x.shape[1])
            arrays[f"{variant}_{head}_w"] = weights.astype(np.float32)
            arrays[f"{variant}_{head}_b"] = bias.astype(np.float32)
    meta["alpha"] = alpha_used
    # The `full` variant's embedding block was fitted on alpha * v; the model applies alpha itself.
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / "model.npz", **arrays)
    (out_dir / "model.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    logger.info("triage model trained in %.0f s", time.perf_counter() - started)
    return meta


def _ordered(model, classes: list, binary: bool, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients in `classes` order; a class absent from the data gets a -inf-like bias."""
    if binary:
        return model.coef_.reshape(1, -1), model.intercept_.reshape(1)
    weights = np.zeros((len(classes), width))
    bias = np.full(len(classes), -30.0)
    for j, cls in enumerate(model.classes_):
        weights[classes.index(cls)] = model.coef_[j]
        bias[classes.index(cls)] = model.intercept_[j]
    return weights, bias
