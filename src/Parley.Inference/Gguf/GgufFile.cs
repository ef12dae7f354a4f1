using System.IO.MemoryMappedFiles;
using Parley.Inference.Tensors;

namespace Parley.Inference.Gguf;

/// <summary>
/// A GGUF model file (versions 2 and 3), memory-mapped read-only. Metadata and tensor infos are
/// parsed and validated up front; tensor data stays in the mapping and is never copied.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    private const uint Magic = 0x46554747; // "GGUF" little-endian
    private const int MaxArrayDepth = 8;
    private const int MaxDims = 4;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly Dictionary<string, object> _metadata = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName = new(StringComparer.Ordinal);
    private readonly List<GgufTensorInfo> _tensors = [];
    private bool _disposed;

    public string Path { get; }
    public uint Version { get; }
    public long FileSize { get; }
    public long DataOffset { get; }
    public int Alignment { get; } = 32;
    public IReadOnlyDictionary<string, object> Metadata => _metadata;
    public IReadOnlyList<GgufTensorInfo> Tensors => _tensors;

    private GgufFile(string path)
    {
        Path = path;
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"model file not found: {path}", path);
        }

        FileSize = info.Length;
        if (FileSize < 24)
        {
            throw new GgufFormatException(path, "header", $"expected at least 24 bytes, the file has {FileSize}");
        }

        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;

        try
        {
            var r = new GgufReader(_base, FileSize, path);
            uint magic = r.Read<uint>("magic");
            if (magic != Magic)
            {
                throw r.Error("magic", $"expected \"GGUF\" (0x{Magic:X8}), found 0x{magic:X8}: not a GGUF file");
            }

            Version = r.Read<uint>("version");
            if (Version is not (2 or 3))
            {
                throw r.Error("version", $"expected 2 or 3, found {Version}");
            }

            long tensorCount = r.ReadCount("tensor_count", 8 + 4 + 8 + 4 + 8);
            long kvCount = r.ReadCount("metadata_kv_count", 8 + 4 + 1);
            for (long i = 0; i < kvCount; i++)
            {
                string key = r.ReadString($"metadata[{i}].key");
                var type = (GgufValueType)r.Read<uint>($"metadata[{key}].type");
                object value = ReadValue(ref r, type, key, 0);
                if (!_metadata.TryAdd(key, value))
                {
                    throw r.Error($"metadata[{key}]", "expected unique keys, found a duplicate");
                }
            }

            if (_metadata.TryGetValue("general.alignment", out var align))
            {
                if (align is not uint a || a == 0 || (a & (a - 1)) != 0 || a > 1 << 20)
                {
                    throw r.Error("general.alignment", $"expected a power of two uint32, found {align}");
                }

                Alignment = (int)a;
            }

            for (long i = 0; i < tensorCount; i++)
            {
                var t = ReadTensorInfo(ref r, i);
                if (!_tensorsByName.TryAdd(t.Name, t))
                {
                    throw r.Error($"tensor[{t.Name}]", "expected unique tensor names, found a duplicate");
                }

                _tensors.Add(t);
            }

            DataOffset = AlignUp(r.Position, Alignment);
            long dataSize = FileSize - DataOffset;
            foreach (var t in _tensors)
            {
                if (t.Offset % Alignment != 0)
                {
                    throw r.Error($"tensor[{t.Name}].offset", $"expected a multiple of the alignment {Alignment}, found {t.Offset}");
                }

                if (t.Offset > dataSize || t.ByteSize > dataSize - t.Offset)
                {
                    throw r.Error($"tensor[{t.Name}].offset",
                        $"data [{t.Offset}, {t.Offset + t.ByteSize}) lies outside the {Math.Max(0, dataSize)} bytes of tensor data (truncated?)");
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Opens and validates a GGUF file. Throws <see cref="GgufFormatException"/> for any malformed content.</summary>
    public static GgufFile Open(string path) => new(path);

    private static long AlignUp(long x, long a) => (x + a - 1) / a * a;

    private static object ReadValue(ref GgufReader r, GgufValueType type, string key, int depth)
    {
        string f = $"metadata[{key}]";
        switch (type)
        {
            case GgufValueType.UInt8: return r.Read<byte>(f);
            case GgufValueType.Int8: return r.Read<sbyte>(f);
            case GgufValueType.UInt16: return r.Read<ushort>(f);
            case GgufValueType.Int16: return r.Read<short>(f);
            case GgufValueType.UInt32: return r.Read<uint>(f);
            case GgufValueType.Int32: return r.Read<int>(f);
            case GgufValueType.Float32: return r.Read<float>(f);
            case GgufValueType.UInt64: return r.Read<ulong>(f);
            case GgufValueType.Int64: return r.Read<long>(f);
            case GgufValueType.Float64: return r.Read<double>(f);
            case GgufValueType.Bool:
                byte b = r.Read<byte>(f);
                if (b > 1) throw r.Error(f, $"expected a bool (0 or 1), found {b}");
                return b == 1;
            case GgufValueType.String: return r.ReadString(f);
            case GgufValueType.Array:
                if (depth >= MaxArrayDepth) throw r.Error(f, $"expected arrays nested at most {MaxArrayDepth} deep");
                var et = (GgufValueType)r.Read<uint>(f + " (array element type)");
                long n = r.ReadCount(f + " (array length)", MinBytes(et, r, f));
                return new GgufArray(et, ReadArrayItems(ref r, et, n, key, depth));
            default:
                throw r.Error(f, $"expected a value type 0..12, found {(uint)type}");
        }
    }

    private static int MinBytes(GgufValueType t, GgufReader r, string field) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
        GgufValueType.Array => 12,
        _ => throw r.Error(field, $"expected an array element type 0..12, found {(uint)t}"),
    };

    private static Array ReadArrayItems(ref GgufReader r, GgufValueType et, long n, string key, int depth)
    {
        string f = $"metadata[{key}]";
        switch (et)
        {
            case GgufValueType.UInt8: return ReadPrimitives<byte>(ref r, n, f);
            case GgufValueType.Int8: return ReadPrimitives<sbyte>(ref r, n, f);
            case GgufValueType.UInt16: return ReadPrimitives<ushort>(ref r, n, f);
            case GgufValueType.Int16: return ReadPrimitives<short>(ref r, n, f);
            case GgufValueType.UInt32: return ReadPrimitives<uint>(ref r, n, f);
            case GgufValueType.Int32: return ReadPrimitives<int>(ref r, n, f);
            case GgufValueType.Float32: return ReadPrimitives<float>(ref r, n, f);
            case GgufValueType.UInt64: return ReadPrimitives<ulong>(ref r, n, f);
            case GgufValueType.Int64: return ReadPrimitives<long>(ref r, n, f);
            case GgufValueType.Float64: return ReadPrimitives<double>(ref r, n, f);
            case GgufValueType.Bool:
                var bools = new bool[n];
                for (long i = 0; i < n; i++) bools[i] = (bool)ReadValue(ref r, GgufValueType.Bool, key, depth + 1);
                return bools;
            case GgufValueType.String:
                var strings = new string[n];
                for (long i = 0; i < n; i++) strings[i] = r.ReadString($"{f}[{i}]");
                return strings;
            default: // Array: validated by MinBytes
                var arrays = new GgufArray[n];
                for (long i = 0; i < n; i++) arrays[i] = (GgufArray)ReadValue(ref r, GgufValueType.Array, key, depth + 1);
                return arrays;
        }
    }

    private static T[] ReadPrimitives<T>(ref GgufReader r, long n, string field) where T : unmanaged
    {
        var items = new T[n]; // n was checked against the bytes left, so this is bounded by the file size
        for (long i = 0; i < n; i++) items[i] = r.Read<T>(field);
        return items;
    }

    private static GgufTensorInfo ReadTensorInfo(ref GgufReader r, long index)
    {
        string name = r.ReadString($"tensor[{index}].name");
        string f = $"tensor[{name}]";
        uint nDims = r.Read<uint>(f + ".n_dims");
        if (nDims is 0 or > MaxDims)
        {
            throw r.Error(f + ".n_dims", $"expected 1..{MaxDims}, found {nDims}");
        }

        var dims = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++)
        {
            ulong ne = r.Read<ulong>($"{f}.dims[{d}]");
            if (ne == 0 || ne > (ulong)(long.MaxValue / elements))
            {
                throw r.Error($"{f}.dims[{d}]", $"expected a positive size whose product fits 63 bits, found {ne}");
            }

            dims[d] = (long)ne;
            elements *= (long)ne;
        }

        uint rawType = r.Read<uint>(f + ".type");
        var type = (GgmlType)rawType;
        if (!Enum.IsDefined(type) || !GgmlTypeInfo.IsSupported(type))
        {
            throw r.Error(f + ".type", $"expected a supported tensor type ({string.Join(", ", Enum.GetNames<GgmlType>())}), found {rawType}");
        }

        int block = GgmlTypeInfo.BlockSize(type);
        if (dims[0] % block != 0)
        {
            throw r.Error($"{f}.dims[0]", $"expected a multiple of the {type} block size {block}, found {dims[0]}");
        }

        long offset = (long)r.Read<ulong>(f + ".offset");
        if (offset < 0)
        {
            throw r.Error(f + ".offset", "expected an offset below 2^63");
        }

        long bytes = elements / block * GgmlTypeInfo.BlockBytes(type);
        return new GgufTensorInfo(name, dims, type, offset, bytes);
    }

    public GgufTensorInfo? FindTensor(string name) => _tensorsByName.GetValueOrDefault(name);

    public GgufTensorInfo GetTensor(string name) =>
        FindTensor(name) ?? throw new GgufFormatException(Path, $"tensor[{name}]", "expected this tensor, the file has none by that name");

    /// <summary>Address of a tensor's data inside the mapping; valid until this file is disposed.</summary>
    public byte* DataPointer(GgufTensorInfo t)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _base + DataOffset + t.Offset;
    }

    public bool Has(string key) => _metadata.ContainsKey(key);

    public string GetString(string key) => Get<string>(key, "a string");

    public string? GetStringOrNull(string key) => _metadata.TryGetValue(key, out var v) ? v as string ?? throw TypeError(key, "a string", v) : null;

    public GgufArray GetArray(string key) => Get<GgufArray>(key, "an array");

    public GgufArray? GetArrayOrNull(string key) => _metadata.TryGetValue(key, out var v) ? v as GgufArray ?? throw TypeError(key, "an array", v) : null;

    /// <summary>An integer of any width, checked to fit an int and be non-negative.</summary>
    public int GetInt(string key) => TryGetInt(key) ?? throw new GgufFormatException(Path, key, "expected this metadata key, it is missing");

    public int GetInt(string key, int fallback) => TryGetInt(key) ?? fallback;

    public int? TryGetInt(string key)
    {
        if (!_metadata.TryGetValue(key, out var v)) return null;
        long x = v switch
        {
            byte b => b, sbyte sb => sb, ushort us => us, short s => s, uint u => u, int i => i,
            ulong ul => ul > int.MaxValue ? -1 : (long)ul, long l => l,
            _ => throw TypeError(key, "an integer", v),
        };
        if (x < 0 || x > int.MaxValue) throw new GgufFormatException(Path, key, $"expected a non-negative 32-bit integer, found {v}");
        return (int)x;
    }

    public float GetFloat(string key, float fallback)
    {
        if (!_metadata.TryGetValue(key, out var v)) return fallback;
        return v switch
        {
            float f => f,
            double d => (float)d,
            _ => throw TypeError(key, "a float", v),
        };
    }

    public bool GetBool(string key, bool fallback)
    {
        if (!_metadata.TryGetValue(key, out var v)) return fallback;
        return v as bool? ?? throw TypeError(key, "a bool", v);
    }

    private T Get<T>(string key, string what) where T : class
    {
        if (!_metadata.TryGetValue(key, out var v)) throw new GgufFormatException(Path, key, $"expected {what}, the key is missing");
        return v as T ?? throw TypeError(key, what, v);
    }

    private GgufFormatException TypeError(string key, string what, object found) =>
        new(Path, key, $"expected {what}, found {found.GetType().Name}");

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_view != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _map?.Dispose();
    }
}
