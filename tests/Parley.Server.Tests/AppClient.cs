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

    public void Dispose() => _http.Dispose();
}
