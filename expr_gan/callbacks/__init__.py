"""Lightning callbacks of expr_gan, one concept per file.

checkpoints   AtomicCheckpointIO (atomic writes), ConfigInCheckpoint (the plain run config in every
              checkpoint), LastCheckpoint (`last.ckpt`: always the latest state)
resume        ExactResume: RNG states and the data position in checkpoints, restored on resume
budget        BatchBudget: stop after N training batches (not optimizer steps)
heap          FrozenHeap: no full garbage collections while training
eval_metrics  EvalMetrics: the evaluator's metrics under val/ at each validation
"""
