"""A/B in one process: ACT's step with the discriminator's classic attention everywhere (before) vs fused SDPA
except R1's forward (after). cifar10 preset, batch 16, CPU; A B A B."""
import json, torch
from diffusers.models.attention_processor import AttnProcessor
from act.bench import BenchOptions, bench_method
import act.networks.discriminators as D

orig = D.UNetDiscriminator.twice_differentiable
def classic_everywhere(opts):
    real_init = D.UNetDiscriminator.__init__
    import functools
    @functools.wraps(real_init)
    def init(self, *a, **k):
        real_init(self, *a, **k)
        for m in self._attention:
            m.set_processor(AttnProcessor())
        self._processors = (AttnProcessor, AttnProcessor)
    D.UNetDiscriminator.__init__ = init
    try:
        return bench_method(opts, "act")
    finally:
        D.UNetDiscriminator.__init__ = real_init
opts = BenchOptions(preset="cifar10", batch=16, steps=4, warmup=1)
res = {"before": [], "after": [], "ct": []}
for rep in range(2):
    res["before"].append(classic_everywhere(opts)["seconds_per_step"])
    res["after"].append(bench_method(opts, "act")["seconds_per_step"])
    res["ct"].append(bench_method(opts, "ct")["seconds_per_step"])
    print(json.dumps(res), flush=True)
