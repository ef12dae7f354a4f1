using System.Text.Json;
using Parley.Server.OpenAi;

namespace Parley.Server.Tests;

/// <summary>A templated token chunk must be byte for byte what the serializer writes for the same chunk.</summary>
public sealed class SseFormatTests
{
    [Theory]
    [InlineData("plain")]
    [InlineData("")]
    [InlineData("quote \" backslash \\ newline \n tab \t")]
    [InlineData("accents é ü, CJK 中文, emoji 😀, <html> & 'apostrophe'")]
    [InlineData("\u0001parley-text\u0001")]
    public void TemplatedChunksEqualSerializedChunks(string text)
    {
        static object Chunk(string content) => new
        {
            id = "chatcmpl-1",
            @object = "chat.completion.chunk",
            choices = new[] { new { index = 0, delta = new { content }, logprobs = (object?)null, finish_reason = (string?)null } },
        };

        var template = new TextChunkTemplate(Chunk(TextChunkTemplate.Marker));
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        template.With(text).WriteTo(buffer);
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(Chunk(text)), buffer.WrittenSpan.ToArray());
    }
}
