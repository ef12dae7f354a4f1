using System.Net;
using System.Text;
using System.Text.Json;

namespace Parley.Server.Tests;

/// <summary>
/// A browser's view of the app API: its own cookie jar, and the CSRF token it fetched (or was given
/// at sign-in) sent as X-CSRF-Token on every change, as the web app does.
/// </summary>
public sealed class AppClient : IDisposable
{
    private readonly HttpClient _http;

    public AppClient(Uri server)
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, UseCookies = true }) { BaseAddress = server, Timeout = TimeSpan.FromMinutes(2) };
    }

    public CookieContainer Cookies { get; }
    public string? Csrf { get; set; }
    public HttpClient Http => _http;

    public async Task<string> FetchCsrfAsync()
    {
        var body = await GetJsonAsync("api/auth/csrf");
        return Csrf = body.GetProperty("token").GetString()!;
    }

    /// <summary>Registers and stays signed in; returns the user object.</summary>
    public Task<JsonElement> RegisterAsync(string name, string password = "correct horse battery") => SignInAsync("api/auth/register", name, password);

    public Task<JsonElement> LoginAsync(string name, string password = "correct horse battery") => SignInAsync("api/auth/login", name, password);

    private async Task<JsonElement> SignInAsync(string path, string name, string password)
    {
        if (Csrf is null) await FetchCsrfAsync();
        using var response = await SendAsync(HttpMethod.Post, path, new { username = name, password });
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path} answered {(int)response.StatusCode}: {text}");
        var body = JsonDocument.Parse(text).RootElement;
        Csrf = body.GetProperty("csrfToken").GetString();
        return body.GetProperty("user").Clone();
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, bool csrf = true)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        if (csrf && Csrf is not null) request.Headers.Add("X-CSRF-Token", Csrf);
        return _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Sends and expects success; returns the JSON body (or an empty object for 204).</summary>
    public async Task<JsonElement> JsonAsync(HttpMethod method, string path, object? body = null)
    {
        using var response = await SendAsync(method, path, body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path} answered {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? JsonDocument.Parse("{}").RootElement : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Sends and returns the status and the error code of the envelope (null when none).</summary>
    public async Task<(HttpStatusCode Status, string? Code)> StatusAsync(HttpMethod method, string path, object? body = null, bool csrf = true)
    {
        using var response = await SendAsync(method, path, body, csrf);
        string text = await response.Content.ReadAsStringAsync();
        string? code = null;
        if (text.StartsWith('{') && JsonDocument.Parse(text).RootElement.TryGetProperty("error", out var e) && e.TryGetProperty("code", out var c)) code = c.GetString();
        return (response.StatusCode, code);
    }

    public async Task<string> NewConversationAsync(object? body = null) =>
        (await JsonAsync(HttpMethod.Post, "api/conversations", body ?? new { })).GetProperty("id").GetString()!;

    /// <summary>Sends a message and reads the answer's events to the end: start, deltas, end.</summary>
    public async Task<List<JsonElement>> SendAsync(string conversation, string content, object? extra = null)
    {
        using var response = await SendAsync(HttpMethod.Post, $"api/conversations/{conversation}/messages", Body(content, extra));
        return await EventsAsync(response);
    }

    public static Dictionary<string, object?> Body(string content, object? extra)
    {
        var body = new Dictionary<string, object?> { ["content"] = content };
        if (extra is not null)
        {
            foreach (var p in extra.GetType().GetProperties()) body[p.Name] = p.GetValue(extra);
        }

        return body;
    }

    /// <summary>The server-sent events of a response, each a JSON object with a 'type'; stops early when <paramref name="until"/> says so.</summary>
    public static async Task<List<JsonElement>> EventsAsync(HttpResponseMessage response, Func<JsonElement, bool>? until = null)
    {
        string? error = response.IsSuccessStatusCode ? null : await response.Content.ReadAsStringAsync();
        Assert.True(error is null, $"answered {(int)response.StatusCode}: {error}");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<JsonElement>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var e = JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone();
            events.Add(e);
            if (until?.Invoke(e) == true) break;
        }

        return events;
    }

    /// <summary>The concatenated text of the delta events.</summary>
    public static string Text(IEnumerable<JsonElement> events) =>
        string.Concat(events.Where(e => e.GetProperty("type").GetString() == "delta").Select(e => e.GetProperty("text").GetString()));

    public static JsonElement Last(List<JsonElement> events, string type) => events.Last(e => e.GetProperty("type").GetString() == type);

    public void Dispose() => _http.Dispose();
}
