using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Parley.Server.OpenAi;

/// <summary>Server-Sent Events as OpenAI streams them: "data: {json}" events, flushed at once, ending with "data: [DONE]".</summary>
public sealed class SseWriter(HttpResponse response)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public void Start()
    {
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // proxies must not hold the stream back
    }

    public Task WriteAsync(object payload, CancellationToken ct) => WriteAsync([payload], ct);

    /// <summary>Writes events and flushes once; safe to call from the tasks of several choices.</summary>
    public async Task WriteAsync(IReadOnlyList<object> payloads, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var payload in payloads)
        {
            buffer.Write("data: "u8);
            if (payload is TextChunk text) text.WriteTo(buffer);
            else
            {
                using var json = new Utf8JsonWriter(buffer);
                JsonSerializer.Serialize(json, payload);
            }

            buffer.Write("\n\n"u8);
        }

        await _gate.WaitAsync(ct);
        try
        {
            await response.Body.WriteAsync(buffer.WrittenMemory, ct);
            await response.Body.FlushAsync(ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task DoneAsync(CancellationToken ct)
    {
        await response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), ct);
        await response.Body.FlushAsync(ct);
    }
}

/// <summary>
/// A streamed chunk whose only varying part is the token text: the chunk is serialized once around a
/// marker, and each token's event is the bytes around it with the text JSON-escaped in between (the
/// bytes the serializer itself would write), which spares a reflection-driven serialization per token.
/// </summary>
public sealed class TextChunkTemplate
{
    public const string Marker = "\u0001parley-text\u0001";

    private readonly byte[] _prefix;
    private readonly byte[] _suffix;

    /// <param name="chunkWithMarker">The chunk object with <see cref="Marker"/> where the text goes.</param>
    public TextChunkTemplate(object chunkWithMarker)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(chunkWithMarker);
        var marker = JsonEncodedText.Encode(Marker).EncodedUtf8Bytes;
        int at = json.AsSpan().IndexOf(marker);
        if (at < 0) throw new ArgumentException("the chunk does not contain the marker", nameof(chunkWithMarker));
        _prefix = json[..at];
        _suffix = json[(at + marker.Length)..];
    }

    public TextChunk With(string text) => new(this, text);

    internal void WriteTo(IBufferWriter<byte> buffer, string text)
    {
        buffer.Write(_prefix);
        buffer.Write(JsonEncodedText.Encode(text).EncodedUtf8Bytes);
        buffer.Write(_suffix);
    }
}

/// <summary>One token's event made from a <see cref="TextChunkTemplate"/>.</summary>
public sealed record TextChunk(TextChunkTemplate Template, string Text)
{
    public void WriteTo(IBufferWriter<byte> buffer) => Template.WriteTo(buffer, Text);
}
