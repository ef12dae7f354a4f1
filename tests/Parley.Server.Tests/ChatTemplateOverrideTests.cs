using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Parley.Inference.Tests;

namespace Parley.Server.Tests;

/// <summary>A server whose chat template is replaced (--chat-template): the template's own rules become 400s.</summary>
public sealed class ChatTemplateOverrideTests
{
    private const string Template = """
        {%- if messages[0]['role'] != 'system' -%}{{ raise_exception('The first message must be a system message.') }}{%- endif -%}
        {%- for m in messages -%}[{{ m['role'] | upper }}] {{ m['content'] }}
        {% endfor -%}{%- if add_generation_prompt -%}[ASSISTANT] {% endif -%}
        """;

    [Fact]
    public async Task RaiseExceptionIsA400AndAValidConversationRendersWithTheOverride()
    {
        var app = ParleyServer.Build(new ServerOptions
        {
            Port = 0,
            Threads = 2,
            Models = [TestModels.Tiny("tiny-qwen2-bpe-q8_0.gguf")],
            ChatTemplate = Template,
        });
        await app.StartAsync();
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = ParleyServer.Address(app) };
        StringContent Body(params object[] messages) => new(JsonSerializer.Serialize(new { model = "tiny-qwen2-bpe-q8_0", messages, max_tokens = 2 }), Encoding.UTF8, "application/json");

        using var refused = await http.PostAsync("v1/chat/completions", Body(new { role = "user", content = "hi" }));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("The first message must be a system message.", error.GetProperty("message").GetString());
        Assert.Equal("chat_template_error", error.GetProperty("code").GetString());

        using var ok = await http.PostAsync("v1/chat/completions", Body(new { role = "system", content = "Be brief." }, new { role = "user", content = "hi" }));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var usage = JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement.GetProperty("usage");
        using var file = Parley.Inference.Gguf.GgufFile.Open(TestModels.Tiny("tiny-qwen2-bpe-q8_0.gguf"));
        int expected = Parley.Inference.Tokenization.Tokenizer.FromGguf(file).Encode("[SYSTEM] Be brief.\n[USER] hi\n[ASSISTANT] ", addSpecial: true, parseSpecial: true).Count;
        Assert.Equal(expected, usage.GetProperty("prompt_tokens").GetInt32());
        await app.StopAsync();
    }
}
