using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;

namespace Parley.Server.Tests;

/// <summary>The official OpenAI .NET SDK and Microsoft.Extensions.AI's IChatClient against the real server.</summary>
[Collection(ServerCollection.Name)]
public sealed class ClientSdkTests(ServerFixture server)
{
    private ChatClient Client() => new(ServerFixture.ModelId, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Url, "v1") });

    private static ChatCompletionOptions Greedy(int n) => new() { MaxOutputTokenCount = n, Temperature = 0 };

    [Fact]
    public async Task OpenAiSdkCompletesAndStreams()
    {
        string expected = server.ChatAlone("Hi from the SDK", 10);
        var client = Client();
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("Hi from the SDK")], Greedy(10));
        Assert.Equal(expected, completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(10, completion.Usage.OutputTokenCount);

        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Hi from the SDK")], Greedy(10)))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
        }

        Assert.Equal(expected, text.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
    }

    [Fact]
    public async Task OpenAiSdkSeesErrorsAsExceptionsWithTheStatus()
    {
        var client = new ChatClient("no-such-model", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.Url, "v1") });
        var e = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("x")]));
        Assert.Equal(404, e.Status);
        Assert.Contains("no-such-model", e.Message);
    }

    [Fact]
    public async Task MicrosoftExtensionsAiChatClientWorksStreamingAndNot()
    {
        string expected = server.ChatAlone("Hello, IChatClient", 8);
        IChatClient chat = Client().AsIChatClient();
        var options = new ChatOptions { MaxOutputTokens = 8, Temperature = 0 };
        var response = await chat.GetResponseAsync([new AiChatMessage(AiChatRole.User, "Hello, IChatClient")], options);
        Assert.Equal(expected, response.Text);

        var streamed = new System.Text.StringBuilder();
        await foreach (var update in chat.GetStreamingResponseAsync([new AiChatMessage(AiChatRole.User, "Hello, IChatClient")], options))
        {
            streamed.Append(update.Text);
        }

        Assert.Equal(expected, streamed.ToString());
    }
}
