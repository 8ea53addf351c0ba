/// A probe that samples through a ``Sampler``: its configuration carries the ``SamplingPlan``,
/// and the sampler carries the plan, the backends and the log.
protocol SamplingProbe {
    var sampler: Sampler { get }
}

extension SamplingProbe {
    var plan: SamplingPlan { sampler.plan }
    var log: ProgressLog { sampler.log }
}
