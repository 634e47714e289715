"""Classifier Frechet distance of sample sets and of the moment-matched Gaussian on the same draws (eval seed 0).

    python pilot_eval.py CLASSIFIER.pt SAMPLES.npz [SAMPLES.npz ...]

CLASSIFIER: `act train-classifier --dataset fashion_mnist --resolution 16 --steps 300 --batch-size 128 --width 16`.
"""
import sys

from act.metrics.evaluation import EvalOptions, evaluate

classifier, sets = sys.argv[1], sys.argv[2:]
for npz in sets:
    r = evaluate(EvalOptions(samples=npz, dataset="fashion_mnist", num_ref=2000, classifier=classifier,
                             inception_num=0, eval_seed=0, progress=False))
    print(npz, {k: r.get(k) for k in ("classifier_fd", "classifier_fd_gaussian", "classifier_is")})
