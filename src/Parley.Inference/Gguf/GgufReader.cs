using System.Text;

namespace Parley.Inference.Gguf;

/// <summary>
/// Bounds-checked cursor over the mapped header. Every read checks the remaining length first and
/// reports the field being read, so a truncated or corrupt file fails with a precise message.
/// </summary>
internal unsafe struct GgufReader(byte* start, long length, string file)
{
    private readonly byte* _start = start;
    private readonly long _length = length;
    public long Position;

    public readonly long Remaining => _length - Position;

    public readonly GgufFormatException Error(string field, string problem) => new(file, field, problem);

    private readonly void Need(long bytes, string field)
    {
        if (bytes < 0 || bytes > Remaining)
        {
            throw Error(field, $"expected {bytes} more bytes at offset {Position}, but the file ends at {_length} (truncated?)");
        }
    }

    public byte ReadU8(string field) { Need(1, field); return _start[Position++]; }

    public T Read<T>(string field) where T : unmanaged
    {
        Need(sizeof(T), field);
        var v = *(T*)(_start + Position); // unaligned reads are fine on x64 and arm64
        Position += sizeof(T);
        return v;
    }

    public string ReadString(string field)
    {
        ulong len = Read<ulong>(field + " (string length)");
        if (len > (ulong)Remaining)
        {
            throw Error(field, $"string length {len} exceeds the {Remaining} bytes left in the file");
        }

        var span = new ReadOnlySpan<byte>(_start + Position, (int)len);
        Position += (long)len;
        return Encoding.UTF8.GetString(span); // invalid sequences become U+FFFD, as most readers do
    }

    /// <summary>Reads a count and checks it against the bytes left, given the smallest possible item.</summary>
    public long ReadCount(string field, int minItemBytes)
    {
        ulong n = Read<ulong>(field);
        if (n > (ulong)(Remaining / Math.Max(1, minItemBytes)))
        {
            throw Error(field, $"count {n} is impossible: only {Remaining} bytes remain for items of at least {minItemBytes} bytes");
        }

        return (long)n;
    }
}
