"""Best-of-n with the real CPU model: every answer gets the step score of its plan."""

from planbench_scale.instances import generate_set
from planbench_scale.config import EngineConfig, InstanceSource, RunConfig, Sampling, Settings
from planbench_scale.score import check, state_after, STEP_SCORES
from planbench_scale.store import RunWriter, read_samples
from planbench_scale.strategies import get
from planbench_scale.strategies.loop import run

INSTANCES = generate_set("blocksworld", (3, 3), (2, 2), per_step=1, seed=0)


def test_best_of_n_scores_every_answer_by_its_plan(tmp_path, cpu_backend):
    settings = Settings(strategy="best-of-n", k=4, score="goal-count", shots=0, seed=5,
                        sampling=Sampling(temperature=1.0, max_tokens=40))
    config = RunConfig(settings, EngineConfig("vllm", "m"), InstanceSource("set", None, 1))
    with RunWriter(tmp_path, config, INSTANCES, resume=True) as writer:
        run(cpu_backend, INSTANCES, writer, settings)
    frame = read_samples(tmp_path)
    assert sorted(frame.sample_index) == [0, 1, 2, 3]
    instance = INSTANCES[0]
    for row in frame.itertuples():
        extraction, verdict = check(instance, row.text)
        if verdict.reason.value in ("valid", "goal_not_reached"):
            state = state_after(instance, extraction.actions)
            assert row.score == STEP_SCORES["goal-count"](instance, state, None)
        else:
            assert row.score != row.score  # NaN: a plan with a step that does not apply
    assert get("best-of-n").most_samples(Settings(k=4, score="logprob")) == 8
