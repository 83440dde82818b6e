"""Lightning callbacks of expr_gan, one concept per file.

batch_clock   BatchClock: counts training batches, stops after max_batches, owns `last.ckpt`
checkpoints   AtomicCheckpointIO (atomic writes), ConfigInCheckpoint (the plain run config in every checkpoint)
resume        ExactResume: RNG states and the data position in checkpoints, restored on resume
heap          FrozenHeap: no full garbage collections while training
eval_metrics  EvalMetrics: the evaluator's metrics under val/ at each validation
phase_timer   PhaseTimer: each epoch's training and validation in the run's timings.json
"""
