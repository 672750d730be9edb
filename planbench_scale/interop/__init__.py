"""Where researchers already work: answers made by any tool scored into run folders
(`answers`), PlanBench's published result files as runs (`planbench_results`), instance
sets as a Hugging Face dataset (`hf_dataset`), lm-evaluation-harness task folders
(`lm_eval_task`), inspect_ai's task package (`inspect_task`) and its logs as runs (`inspect_log`)."""
