/// What the image lookup and read probes are configured with: the sampling plan alone, since
/// the image chooses the names and files (its `seed` also seeds the lookup's pick).
public struct ImageProbeConfiguration: Sendable {
    public var sampling = SamplingPlan()
    public init() {}
}
