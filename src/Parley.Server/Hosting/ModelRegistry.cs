using Parley.Inference.Serving;

namespace Parley.Server.Hosting;

/// <summary>
/// The models this server offers, by id. The default model is loaded at start; the others on their
/// first request, once (concurrent first requests share the load).
/// </summary>
public sealed class ModelRegistry : IDisposable
{
    private readonly Dictionary<string, string> _paths;
    private readonly Dictionary<string, Lazy<LoadedModel>> _loaded = [];
    private readonly int _threads;
    private readonly SchedulerOptions _options;
    private readonly string? _template;

    public ModelRegistry(IReadOnlyList<string> paths, int threads, SchedulerOptions options, string? template = null)
    {
        _template = template;
        if (paths.Count == 0) throw new ArgumentException("no models to serve", nameof(paths));
        _threads = threads;
        _options = options;
        _paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in paths) _paths.TryAdd(ModelStore.IdOf(p), Path.GetFullPath(p));
        DefaultId = ModelStore.IdOf(paths[0]);
    }

    public string DefaultId { get; }
    public IEnumerable<string> Ids => _paths.Keys;
    public bool Contains(string id) => _paths.ContainsKey(id);

    /// <summary>True once the default model is loaded and serving.</summary>
    public bool Ready
    {
        get
        {
            lock (_loaded) return _loaded.TryGetValue(DefaultId, out var l) && l.IsValueCreated;
        }
    }

    /// <summary>The loaded model <paramref name="id"/>, loading it now if needed; null for an unknown id.</summary>
    public LoadedModel? Get(string id)
    {
        if (!_paths.TryGetValue(id, out var path)) return null;
        Lazy<LoadedModel> lazy;
        lock (_loaded)
        {
            if (!_loaded.TryGetValue(id, out lazy!))
            {
                lazy = new Lazy<LoadedModel>(() => LoadedModel.Load(id, path, _threads, _options with { Name = id }, _template));
                _loaded[id] = lazy;
            }
        }

        return lazy.Value;
    }

    public IEnumerable<LoadedModel> Loaded()
    {
        lock (_loaded) return _loaded.Values.Where(l => l.IsValueCreated).Select(l => l.Value).ToList();
    }

    public void Dispose()
    {
        foreach (var m in Loaded()) m.Dispose();
    }
}
