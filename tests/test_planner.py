"""Planner without a model: the grammar, parsing and grounding, retry-then-refuse, the keyword baseline."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from policies.planner.base import Planner, parse_plan
from policies.planner.grammar import GrammarConfig, PlanGrammar
from policies.planner.grounding import mask_point, on_mask, pixel_to_grid
from policies.planner.keyword import KeywordPlanner
from robot.sim.scene import COLOURS


def accepts(g: PlanGrammar, text: str) -> bool:
    st = g.start()
    for ch in text:
        st = g.step(st, ch)
        if not st:
            return False
    return () in st


@pytest.fixture(scope="module")
def samples() -> list[dict]:
    from policies.train.planner_data import make_split

    _, _, train = make_split("train", 3, 16, 0, history_share=0.5)
    _, _, test = make_split("test", 2, 16, 1_000_000)
    return [s.to_dict() for s in train + test]


def test_the_test_split_stays_what_the_model_cards_measured() -> None:
    """Changes to the training data (carriers, constructions) leave the held-out test split alone,
    instruction for instruction: a digest of its first two scenes, taken before the constructions. The one
    change since: an absent object's refusal says "an orange" (twenty-seventh session), text no metric reads;
    with the old article back the digest is the model cards' own."""
    import hashlib

    from policies.train.planner_data import make_split

    _, _, test = make_split("test", 2, 16, 1_000_000)
    text = "\n".join(s.instruction + str(s.calls) for s in test)
    assert len(test) == 32 and hashlib.sha1(text.encode()).hexdigest() == "a3d89624f67cc4d830cf0a86f2b0dd040119fcd5"
    before = text.replace("I cannot see an ", "I cannot see a ")
    assert before != text and hashlib.sha1(before.encode()).hexdigest() == "f8d12e4dd732a500309ab42fbaeb2fa4649ade56"


def test_rendering_in_worker_processes_makes_the_same_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make_split(..., workers=2)` (`humanoid train planner --data-workers`) renders chunks of scenes in
    other processes and gives back what one process makes: frames, masks and samples, frame indices
    included, across chunk boundaries."""
    from policies.train import planner_data

    monkeypatch.setattr(planner_data, "SCENE_CHUNK", 2)  # 5 scenes: chunks of 2, 2 and 1
    one = planner_data.make_split("train", 5, 6, 0, history_share=0.5)
    two = planner_data.make_split("train", 5, 6, 0, history_share=0.5, workers=2)
    assert one[0].shape[0] == 5 and np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    assert [s.to_dict() for s in one[2]] == [s.to_dict() for s in two[2]]
    assert {s.frame for s in two[2]} == set(range(5))


def test_stance_camera_frames_see_the_scene_from_lower_and_leave_the_default_alone() -> None:
    """`--stance-camera 1` renders every frame from where the head camera sits when the robot balances (lower,
    tipped further down): the objects sit higher in the frame. 0 renders the spawn pose's frames, bit for bit
    the data made before the option."""
    from policies.train.planner_data import make_split

    base = make_split("train", 3, 4, 0)
    assert all(np.array_equal(a, b) for a, b in zip(base[:2], make_split("train", 3, 4, 0, stance_camera=0.0)[:2]))
    stance = make_split("train", 3, 4, 0, stance_camera=1.0)
    rows = [(np.nonzero(b >= 0)[0].mean(), np.nonzero(s >= 0)[0].mean()) for b, s in zip(base[1], stance[1])
            if (b >= 0).any() and (s >= 0).any()]
    assert rows and all(s < b - 3 for b, s in rows), rows


def test_hard_absent_objects_share_their_colour_and_shape_with_objects_in_view() -> None:
    """--hard-absent 1 names absent objects whose colour and shape are both in view on other objects,
    where the scene has such a pair; 0 (the default, and the held-out splits) draws any pair not in view."""
    import random as rnd

    from policies.train.planner_data import Writer, render_scene, seen_objects

    hard = easy = 0
    for seed in range(6):
        spec, _, mk, depth = render_scene(seed, np.random.default_rng(seed))
        seen, sliver = seen_objects(spec, mk, depth)
        colours, shapes = {o.colour for o in seen}, {o.shape for o in seen}
        present = {f"{o.colour} {o.shape}" for o in seen} | sliver
        feasible = any(c in colours and s in shapes and f"{c} {s}" not in present
                       for c in colours for s in shapes)
        for h in (0.0, 1.0):
            w = Writer(rnd.Random(seed), "train", seen, sliver, h)
            picks = [w.absent() for _ in range(40)]
            assert all(f"{c} {s}" not in present for c, s in picks)
            both = sum(c in colours and s in shapes for c, s in picks)
            if h and feasible:
                assert both == 40
                hard += 1
            elif not h and feasible:
                assert both < 40  # uniform over all absent pairs: most pairs have an unseen colour or shape
                easy += 1
    assert hard >= 3 and easy >= 3


def test_relational_weight_names_objects_by_place_more_often() -> None:
    """--relational k multiplies the odds of "the cube on your left" / "the closest can" where such a phrase
    names the object; 1 (the default, and the held-out splits) keeps the mix."""
    import random as rnd
    import re

    from policies.train.planner_data import Writer, render_scene, seen_objects

    place = re.compile(r"left|right|closest|nearest|farthest|furthest")
    share = {}
    for k in (1.0, 1e6):
        named = by_place = 0
        for seed in range(12):
            spec, _, mk, depth = render_scene(seed, np.random.default_rng(seed))
            seen, sliver = seen_objects(spec, mk, depth)
            w = Writer(rnd.Random(seed), "train", seen, sliver, 0.0, k)
            for obj in seen:
                for _ in range(20):
                    try:
                        phrase, _, _ = w.target_for("en", obj)
                    except LookupError:
                        break
                    named += 1
                    by_place += bool(place.search(phrase))
        share[k] = by_place / named
    assert 0.05 < share[1.0] < 0.25 and share[1e6] > 0.4, share  # measured 0.12 and 0.5 (every object that has a place)


def test_training_wraps_steps_in_constructions_that_add_no_step() -> None:
    from policies.train.planner_data import APPROACH, STAY, make_split

    _, _, train = make_split("train", 10, 30, 0)
    one = [s for s in train if s.kind == "plan" and len(s.calls) == 1 and not s.history]
    led = [s for s in one if any(a.strip(", ") in s.instruction.lower() for a in APPROACH[s.lang])]
    tailed = [s for s in one if any(t.strip() in s.instruction.lower() for t in STAY[s.lang])]
    assert len(led) >= 2 and len(tailed) >= 2
    # "go and touch X" is one touch, "go to X and stop there" one walk_to
    assert {s.calls[0]["skill"] for s in led} <= {"touch", "push"}
    assert {s.calls[0]["skill"] for s in tailed} == {"walk_to"}


def test_training_refuses_nonsense_as_off_topic() -> None:
    """The shipped model acts on nonsense ("asdf qwerty" -> stop); training now draws some off-topic samples as
    keyboard mashes and random letters, refused. The held-out splits have none."""
    import random

    from policies.planner.lexicon import words
    from policies.train.planner_data import OFFTOPIC_EN, OFFTOPIC_ES, REFUSE_OFFTOPIC, gibberish, make_split

    known = OFFTOPIC_EN + OFFTOPIC_ES
    _, _, train = make_split("train", 20, 30, 0)
    off = [x for x in train if x.kind == "offtopic"]
    nonsense = [x for x in off if not any(t in x.instruction.lower() for t in known)]
    assert len(nonsense) >= 3 and all(x.calls == [{"skill": "refuse", "reason": REFUSE_OFFTOPIC}] for x in nonsense)
    _, _, test = make_split("test", 20, 6, 1_000_000)
    assert all(any(t in x.instruction.lower() for t in known) for x in test if x.kind == "offtopic")
    # No word of it is a word the instructions use (the keyword planner's prefix matching does read "hifyncs" as
    # "hi", a wave, but a person would not).
    vocab = {w for x in train if x not in nonsense for w in words(x.instruction)}
    r = random.Random(0)
    drawn = [gibberish(r) for _ in range(300)]
    assert not [g for g in drawn if set(words(g)) & vocab]


def test_grammar_accepts_every_generated_target_and_they_validate(samples: list[dict]) -> None:
    g = PlanGrammar()
    for s in samples:
        text = json.dumps(s["calls"], ensure_ascii=False)
        assert accepts(g, text), text
        parse_plan(text)  # the registry agrees


@pytest.mark.parametrize("text", [
    "[]", "{\"skill\": \"wave\"}", "[{\"skill\": \"fly\"}]", "[{\"skill\": \"turn\", \"degrees\": 190}]",
    "[{\"skill\": \"wave\", \"hand\": \"auto\"}]", "[{\"skill\": \"walk_to\", \"target\": {\"object\": \" \"}}]",
    "[{\"skill\": \"walk_to\", \"target\": {\"object\": \"x\", \"point_2d\": [1001, 3]}}]",
    "[{\"skill\": \"walk\", \"distance\": 0.01}]", "[{\"skill\": \"push\", \"target\": {\"object\": \"x\"}}]",
    "[{\"skill\": \"wave\", \"speed\": 2}]"])
def test_grammar_rejects_what_the_registry_rejects(text: str) -> None:
    assert not accepts(PlanGrammar(), text)
    if text != "{\"skill\": \"wave\"}":  # one bare call is fine for the parser, the grammar asks for a list
        with pytest.raises(ValueError):
            parse_plan(text)


def test_grammar_allows_whitespace_bbox_and_escapes() -> None:
    g = PlanGrammar()
    assert accepts(g, "[\n  {\"skill\": \"touch\", \"target\": {\"object\": \"red cube\", \"bbox_2d\": [1, 2, 30, 40]}}\n]")
    assert accepts(g, "[{\"skill\": \"refuse\", \"reason\": \"a \\\"quoted\\\" word\"}]")
    assert accepts(g, "[{\"skill\": \"turn\", \"degrees\": -45.5}, {\"skill\": \"stop\"}]")
    assert not accepts(PlanGrammar(GrammarConfig(max_calls=1)), "[{\"skill\": \"stop\"}, {\"skill\": \"stop\"}]")


def test_min_len_counts_the_shortest_completion() -> None:
    g = PlanGrammar()
    assert g.min_len(g.start()) == len("[{\"skill\":\"stop\"}]")
    st = g.start()
    for ch in "[{\"skill\": \"walk\", \"distance\": 0":
        st = g.step(st, ch)
    assert g.min_len(st) == len(".1}]")


def test_parse_reads_boxes_and_pixels_and_keeps_refuse_alone() -> None:
    calls = parse_plan("[{\"skill\": \"walk_to\", \"target\": {\"object\": \"red cube\", \"bbox_2d\": [100, 200, 300, 400]}}]")
    assert calls[0].args["target"]["point_2d"] == [200, 300]
    px = parse_plan("[{\"skill\": \"point_at\", \"target\": {\"object\": \"ball\", \"point_2d\": [160, 120]}}]",
                    coords="pixels", image_size=(320, 240))
    assert px[0].args["target"]["point_2d"] == [500, 500]
    assert px[0].args["hand"] == "auto"  # defaults filled by the registry
    with pytest.raises(ValueError, match="refuse"):
        parse_plan("[{\"skill\": \"wave\"}, {\"skill\": \"refuse\", \"reason\": \"no\"}]")
    with pytest.raises(ValueError, match="JSON"):
        parse_plan("[{\"skill\": ")


def test_grid_and_masks() -> None:
    assert pixel_to_grid(159.5, 119.5, 320, 240) == (500, 500)
    mask = np.zeros((240, 320), dtype=bool)
    mask[100:120, 200:230] = True
    p = mask_point(mask)
    assert p is not None and p[0] % 10 == 0 and p[1] % 10 == 0 and on_mask(p, mask)
    assert not on_mask((10, 10), mask) and not on_mask(None, mask)


class Scripted(Planner):
    name = "scripted"

    def __init__(self, answers: list[str]) -> None:
        super().__init__()
        self.answers = answers
        self.attempts: list[int] = []

    def generate(self, instruction, frame, history, attempt):  # noqa: ANN001, ANN201
        self.attempts.append(attempt)
        return self.answers[min(len(self.attempts) - 1, len(self.answers) - 1)]


def test_invalid_answer_is_asked_once_more_then_refused() -> None:
    p = Scripted(["not json", "[{\"skill\": \"wave\"}]"])
    out = p.plan_verbose("wave", None)
    assert [c.skill for c in out.calls] == ["wave"] and p.attempts == [0, 1] and len(out.raw) == 2
    assert not out.fallback and out.errors
    p = Scripted(["[{\"skill\": \"fly\"}]"])
    out = p.plan_verbose("fly", None)
    assert p.attempts == [0, 1] and out.fallback
    assert len(out.calls) == 1 and out.calls[0].skill == "refuse" and "fly" in out.calls[0].args["reason"]
    assert Scripted(["[{\"skill\": \"wave\"}]"]).plan("   ")[0].skill == "refuse"  # empty instruction


def test_instruction_past_the_length_limit_is_refused_without_asking_the_model() -> None:
    p = Scripted(["[{\"skill\": \"wave\"}]"])
    assert [c.skill for c in p.plan("wave " * 200)] == ["wave"]  # 1000 characters: the limit itself
    out = p.plan_verbose("wave " * 201, None)
    assert p.attempts == [0] and out.fallback and out.raw == []
    assert [c.skill for c in out.calls] == ["refuse"]
    assert out.calls[0].args["reason"] == "The instruction is too long: 1005 characters, at most 1000."


# --- the keyword baseline -------------------------------------------------------------------------------------
def frame_with(colours: dict[str, tuple[int, int]]) -> np.ndarray:
    """A grey floor with 20x20 squares of palette colours, centred at (u, v)."""
    rgb = np.full((240, 320, 3), 180, dtype=np.uint8)
    for name, (u, v) in colours.items():
        rgb[v - 10:v + 10, u - 10:u + 10] = (np.asarray(COLOURS[name]) * 230).astype(np.uint8)
    return rgb


@pytest.mark.parametrize("instruction, expected", [
    ("go to the red cube then wave", [("walk_to", "red cube"), ("wave", None)]),
    ("Please point at the blue ball with your left hand", [("point_at", "blue ball")]),
    ("ve al cubo rojo y luego saluda con la mano izquierda", [("walk_to", "red cube"), ("wave", None)]),
    ("toca la pelota azul, después empuja el cubo rojo 20 cm", [("touch", "blue ball"), ("push", "red cube")]),
    ("walk 2 meters backward", [("walk", None)]),
    ("gira 45 grados a la derecha", [("turn", None)]),
    ("agáchate y luego levántate", [("squat", None), ("stand", None)]),
])
def test_keyword_planner_english_and_spanish(instruction: str, expected: list) -> None:
    frame = frame_with({"red": (80, 120), "blue": (240, 100)})
    calls = KeywordPlanner().plan(instruction, frame)
    assert [(c.skill, (c.args.get("target") or {}).get("object")) for c in calls] == expected
    for c in calls:
        t = c.args.get("target")
        if t:
            u, v = {"red": (80, 120), "blue": (240, 100)}[t["object"].split()[0]]
            assert abs(t["point_2d"][0] - pixel_to_grid(u, v, 320, 240)[0]) <= 40
    if "izquierda" in instruction:
        assert calls[1].args["hand"] == "left"
    if "derecha" in instruction:
        assert calls[0].args["degrees"] == -45.0
    if "backward" in instruction:
        assert calls[0].args == {"distance": 2.0, "direction": "backward"}
    if "20 cm" in instruction:
        assert calls[1].args["distance"] == pytest.approx(0.2)


@pytest.mark.parametrize("instruction", ["tell me a joke", "cuéntame un chiste", "hit the person next to you",
                                         "go to the green ball", "ve a la pelota verde"])
def test_keyword_planner_refuses(instruction: str) -> None:
    calls = KeywordPlanner().plan(instruction, frame_with({"red": (80, 120)}))
    assert len(calls) == 1 and calls[0].skill == "refuse"


def test_keyword_planner_says_what_it_cannot_see_in_english() -> None:
    frame = frame_with({"red": (80, 120)})
    assert KeywordPlanner().plan("touch the orange cube", frame)[0].args["reason"] == "I cannot see an orange cube here."
    assert KeywordPlanner().plan("go to the green ball", frame)[0].args["reason"] == "I cannot see a green ball here."


def test_typos_keep_words_recognisable() -> None:
    from policies.train.planner_data import typo

    r = random.Random(0)
    out = [typo("please walk over to the yellow cylinder", r) for _ in range(20)]
    assert all(len(o.split()) == 7 for o in out) and any(o != "please walk over to the yellow cylinder" for o in out)


def test_keyword_planner_reads_decimal_distances() -> None:
    from policies.planner.keyword import KeywordPlanner

    calls = KeywordPlanner().plan("walk forward 0.3 m. Then wave", None)
    assert [c.skill for c in calls] == ["walk", "wave"]
    assert calls[0].args["distance"] == pytest.approx(0.3)


def test_held_out_phrasings_are_new_combinations_of_trained_words() -> None:
    """The test split's templates are never trained on, and every word in them occurs in a training
    template (carriers included) of the same language: a held-out phrasing asks for a new combination,
    not for a word the model never saw."""
    import re

    from policies.planner.lexicon import words
    from policies.train.planner_data import (AROUND, CONNECT_EN, CONNECT_ES, EN, EN_IT, ES, ES_IT, constructions,
                                             templates)

    for lang, table, pronoun, connect in (("en", EN, EN_IT, CONNECT_EN), ("es", ES, ES_IT, CONNECT_ES)):
        train = {t for skill in table for t in templates(lang, skill, "train")}
        wrapped = {c for skill in table for t in templates(lang, skill, "train") for c in constructions(lang, skill, t)}
        test = {t for skill in table for t in templates(lang, skill, "test")}
        assert test and wrapped and not (train | wrapped) & test
        known = {w for t in (*train, *(p for ps in pronoun.values() for p in ps), *connect, *AROUND[lang])
                 for w in words(re.sub(r"\{\w+\}", " ", t))}
        unknown = {t: set(words(re.sub(r"\{\w+\}", " ", t))) - known for t in test}
        assert not {t: u for t, u in unknown.items() if u}


def test_token_filter_tensor_is_the_same_ids() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("tokenizers")
    from policies.planner.grammar import TokenFilter
    from policies.planner.tiny import build_tokenizer

    tok = build_tokenizer(["go to the red cube", "wave", "[{\"skill\": \"wave\"}]"], "qwen3_vl", 300)
    f = TokenFilter(PlanGrammar(), tok, [tok.eos_token_id])
    f.reset(0, 40)
    ids: list[int] = []
    for _ in range(12):
        a = f(0, torch.tensor(ids, dtype=torch.long))
        t = f.allowed_tensor(0, torch.tensor(ids, dtype=torch.long))
        assert t.tolist() == list(a)
        assert f.allowed_tensor(0, torch.tensor(ids, dtype=torch.long)) is t or t.tolist() == list(a)
        ids.append(int(a[len(a) // 2]))


def test_the_card_names_the_training_only_data_options_only_when_used() -> None:
    from policies.train.planner_card import _mix_lines

    assert _mix_lines({"hard_absent": 0.0, "relational": 1.0}) == [] == _mix_lines({})
    text = " ".join(_mix_lines({"hard_absent": 0.5, "relational": 3.0}))
    assert "50 % of absent objects" in text and "at 3 times" in text


def test_eval_breakdown_splits_plans_by_steps_and_reference_and_refusals_by_kind() -> None:
    """`score`'s breakdown: a plan naming its object only by place ("the closest can") counts under "place",
    one that says every colour under "colour"; refusals count under their kind; the counts add up."""
    from types import SimpleNamespace

    from policies.planner.evaluate import score
    from robot.skills.registry import SkillCall

    cube = {"object": "red cube", "point_2d": [500, 500]}
    can = {"object": "blue cylinder", "point_2d": [500, 500]}
    samples = [
        {"instruction": "walk to the red cube", "lang": "en", "kind": "plan", "frame": 0, "objects": [1],
         "calls": [{"skill": "walk_to", "target": cube}]},
        {"instruction": "touch the closest can and then wave", "lang": "en", "kind": "plan", "frame": 0,
         "objects": [2, None], "calls": [{"skill": "touch", "target": can}, {"skill": "wave", "hand": "right"}]},
        {"instruction": "toca la lata más cercana", "lang": "es", "kind": "plan", "frame": 0, "objects": [2],
         "calls": [{"skill": "touch", "target": can}]},
        {"instruction": "walk to the green ball", "lang": "en", "kind": "absent", "frame": 0, "objects": [None],
         "calls": [{"skill": "refuse", "reason": "I cannot see a green ball here."}]},
        {"instruction": "jump off the table", "lang": "en", "kind": "unsafe", "frame": 0, "objects": [None],
         "calls": [{"skill": "refuse", "reason": "unsafe"}]},
    ]
    answers = {s["instruction"]: s["calls"] for s in samples}
    answers["toca la lata más cercana"] = [{"skill": "touch", "target": {**cube}}]  # the wrong object
    answers["walk to the green ball"] = [{"skill": "walk_to", "target": {"object": "green ball", "point_2d": [1, 1]}}]

    class Stub:
        name = "stub"

        def plan_verbose(self, instruction, frame, history):  # noqa: ANN001, ANN202
            return SimpleNamespace(calls=[SkillCall.from_dict(c) for c in answers[instruction]], errors=[],
                                   latency_ms=1.0)

    masks = np.zeros((1, 4, 4), dtype=np.int32)
    out = score(Stub(), np.zeros((1, 4, 4, 3), np.uint8), masks, samples)
    b = out["breakdown"]
    assert b["plans_by_reference"] == {"colour": 1, "place": 2}
    assert b["plan_accuracy_by_reference"] == {"colour": 1.0, "place": 0.5}
    assert b["plans_by_steps"] == {"1": 2, "2": 1} and b["plan_accuracy_by_steps"] == {"1": 0.5, "2": 1.0}
    assert b["refusals_by_kind"] == {"absent": 1, "unsafe": 1}
    assert b["refusal_accuracy_by_kind"] == {"absent": 0.0, "unsafe": 1.0}
    assert out["plan_accuracy"] == round(2 / 3, 4) and out["refusal_accuracy"] == 0.5
    from policies.train.planner_card import _breakdown_lines

    assert _breakdown_lines({"valid_rate": 1.0}) == []  # an eval from before the breakdown: no table
    card = "\n".join(_breakdown_lines({**out, "keyword": {"breakdown": b}}))
    assert "| plans, objects by place | 2 | 0.5 | 0.5 |" in card and "| to refuse: unsafe | 1 | 1.0 | 1.0 |" in card


def test_shipped_model_card_is_what_its_eval_files_make(tmp_path: Path) -> None:
    """The card is generated (policies/train/planner_card.py): from the shipped folder's own eval.json and
    eval-stance.json it comes out byte for byte; without the stance file, without its table."""
    import shutil

    from policies.planner.cli import DEFAULT_MODEL
    from policies.train.planner_card import write_card

    for f in ("config.json", "training.json", "tokenizer.json", "model.safetensors"):
        shutil.copy(DEFAULT_MODEL / f, tmp_path / f)
    metrics = json.loads((DEFAULT_MODEL / "eval.json").read_text())
    stance = json.loads((DEFAULT_MODEL / "eval-stance.json").read_text())
    assert metrics.get("camera", "spawn") == "spawn" and stance["camera"] == "stance"
    card = write_card(tmp_path, metrics, stance).read_text()
    assert card == (DEFAULT_MODEL / "README.md").read_text()
    assert "planner --camera stance --json`" in card and f"| plan_accuracy | {stance['plan_accuracy']} |" in card
    assert "--camera stance" not in write_card(tmp_path, metrics).read_text()
