"""Where researchers already work: answers made by any tool scored into run folders
(`answers`), PlanBench's published result files as runs (`planbench_results`), and instance
sets as a Hugging Face dataset (`hf_dataset`)."""
