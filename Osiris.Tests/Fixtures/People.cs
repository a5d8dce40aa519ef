using System.Net.Http.Headers;
using System.Net.Http.Json;
using Osiris.Shared.Contracts;

namespace Osiris.Tests.Fixtures;

/// <summary>People for tests: made through the API with the api-key, then signed in like anyone would.</summary>
public static class People
{
    public const string Password = "correct horse battery staple";

    /// <summary>Creates a person with <paramref name="role"/> (a unique name from <paramref name="prefix"/>) and returns their name.</summary>
    public static async Task<string> CreateAsync(HttpClient admin, string prefix, string role)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..20];
        using var created = await admin.PostAsJsonAsync("/api/v1/users", new CreateUserRequest(name, role, Password), OsirisJson.Options);
        Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        return name;
    }

    public static async Task<SessionDto> SignInAsync(HttpClient anyone, string name, string password = Password)
    {
        using var response = await anyone.PostAsJsonAsync("/api/v1/auth/sign-in", new SignInRequest(name, password), OsirisJson.Options);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<SessionDto>(OsirisJson.Options))!;
    }

    /// <summary>A client of <paramref name="baseAddress"/> carrying <paramref name="token"/> (or nothing).</summary>
    public static HttpClient Client(Uri baseAddress, string? token)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return http;
    }
}
