using System.Diagnostics.Metrics;

namespace Parley.Inference.Serving;

/// <summary>
/// The scheduler's instruments on the BCL's <see cref="Meter"/> "Parley.Inference"; the server
/// exports them (OpenTelemetry, Prometheus). Gauges read the scheduler when scraped.
/// </summary>
internal sealed class SchedulerMetrics : IDisposable
{
    private readonly Meter _meter = new(Scheduler.MeterName);

    public SchedulerMetrics(Scheduler s, string name)
    {
        Tag = new KeyValuePair<string, object?>("model", name);
        _meter.CreateObservableGauge("parley.sequences.running", () => new Measurement<int>(s.Running, Tag), description: "Sequences generating");
        _meter.CreateObservableGauge("parley.sequences.waiting", () => new Measurement<int>(s.Waiting, Tag), description: "Requests queued for admission");
        _meter.CreateObservableGauge("parley.kv_blocks.used", () => new Measurement<int>(s.KvBlocksUsed, Tag), description: "KV cache blocks held by sequences");
        _meter.CreateObservableGauge("parley.kv_blocks.free", () => new Measurement<int>(s.KvBlocksTotal - s.KvBlocksUsed, Tag), description: "KV cache blocks free or only cached");
        _meter.CreateObservableCounter("parley.prefix_cache.hits", () => new Measurement<long>(s.PrefixHits, Tag), unit: "{block}", description: "Prompt blocks found in the prefix cache");
        _meter.CreateObservableCounter("parley.prefix_cache.misses", () => new Measurement<long>(s.PrefixMisses, Tag), unit: "{block}", description: "Full prompt blocks that had to be computed");
        _meter.CreateObservableCounter("parley.preemptions", () => new Measurement<long>(s.Preemptions, Tag), description: "Sequences preempted for lack of KV blocks");
        PromptTokens = _meter.CreateCounter<long>("parley.tokens.prompt", "{token}", "Prompt tokens admitted");
        GeneratedTokens = _meter.CreateCounter<long>("parley.tokens.generated", "{token}", "Tokens generated");
        TimeToFirstToken = _meter.CreateHistogram<double>("parley.time_to_first_token", "s", "From submission to the first generated token",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        InterTokenLatency = _meter.CreateHistogram<double>("parley.inter_token_latency", "s", "Between consecutive tokens of a sequence",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] });
        StepDuration = _meter.CreateHistogram<double>("parley.step.duration", "s", "One engine step: a forward pass for every running sequence, then sampling",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25] });
        StepTokens = _meter.CreateHistogram<int>("parley.step.tokens", "{token}", "Tokens in one engine step: decode tokens plus prefill chunks",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });
    }

    /// <summary>Every measurement carries the model it is about.</summary>
    public KeyValuePair<string, object?> Tag { get; }
    public Counter<long> PromptTokens { get; }
    public Counter<long> GeneratedTokens { get; }
    public Histogram<double> TimeToFirstToken { get; }
    public Histogram<double> InterTokenLatency { get; }
    public Histogram<double> StepDuration { get; }
    public Histogram<int> StepTokens { get; }

    public void Dispose() => _meter.Dispose();
}
