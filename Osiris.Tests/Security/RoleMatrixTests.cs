using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Security;

/// <summary>
/// Every endpoint of the API × every kind of caller → the expected status. The endpoint list comes from the running
/// API itself, so an endpoint added without an entry here (and a policy) fails this test.
/// </summary>
[Collection(EmbeddedBackbone.Name)]
public sealed class RoleMatrixTests(EmbeddedBackboneFixture fixture)
{
    private const string Anonymous = "anonymous";

    /// <summary>The least role each endpoint needs ("METHOD pattern"; "*" is any method).</summary>
    private static readonly Dictionary<string, string> Required = new()
    {
        ["* /health"] = Anonymous,
        ["* /alive"] = Anonymous,
        ["GET /openapi/{documentName}.json"] = Anonymous,
        ["POST /webhooks/email"] = Anonymous,
        ["GET /webhooks/whatsapp"] = Anonymous,
        ["POST /webhooks/whatsapp"] = Anonymous,
        ["POST /api/v1/auth/sign-in"] = Anonymous,
        ["POST /api/v1/auth/oidc"] = Anonymous,

        ["GET /api/v1/tasks"] = Roles.Viewer,
        ["GET /api/v1/tasks/{id:guid}"] = Roles.Viewer,
        ["GET /api/v1/tasks/{id:guid}/events"] = Roles.Viewer,
        ["GET /api/v1/tasks/{id:guid}/history"] = Roles.Viewer,
        ["GET /api/v1/tasks/{id:guid}/checkpoints"] = Roles.Viewer,
        ["GET /api/v1/tasks/{id:guid}/checkpoints/{checkpointId}/diff"] = Roles.Viewer,
        ["GET /api/v1/brains"] = Roles.Viewer,
        ["GET /api/v1/settings/brain"] = Roles.Viewer,
        ["GET /api/v1/spend"] = Roles.Viewer,
        ["GET /api/v1/status"] = Roles.Viewer,
        ["GET /api/v1/stream"] = Roles.Viewer,
        ["POST /api/v1/stream/tickets"] = Roles.Viewer,
        ["GET /api/v1/me"] = Roles.Viewer,
        ["POST /api/v1/auth/sign-out"] = Roles.Viewer,
        ["GET /api/v1/knowledge/status"] = Roles.Viewer,
        ["GET /api/v1/knowledge/search"] = Roles.Viewer,
        ["GET /api/v1/knowledge/collections"] = Roles.Viewer,
        ["GET /api/v1/knowledge/collections/{id:guid}/documents"] = Roles.Viewer,
        ["GET /api/v1/knowledge/documents/{idOrKey}"] = Roles.Viewer,
        ["GET /api/v1/knowledge/documents/{idOrKey}/content"] = Roles.Viewer,

        ["POST /api/v1/tasks"] = Roles.Operator,
        ["POST /api/v1/tasks/{id:guid}/messages"] = Roles.Operator,
        ["POST /api/v1/tasks/{id:guid}/cancel"] = Roles.Operator,
        ["PUT /api/v1/tasks/{id:guid}/brain"] = Roles.Operator,
        ["POST /api/v1/tasks/{id:guid}/approvals/{approvalId:guid}"] = Roles.Operator,
        ["POST /api/v1/tasks/{id:guid}/resume"] = Roles.Operator,
        ["POST /api/v1/tasks/{id:guid}/checkpoints/{checkpointId}/restore"] = Roles.Operator,
        ["POST /api/v1/tasks/{id:guid}/checkpoints/{checkpointId}/fork"] = Roles.Operator,
        ["POST /api/v1/tasks/{id:guid}/replay"] = Roles.Operator,
        ["POST /api/v1/tasks/{id:guid}/replies/{replyId:guid}"] = Roles.Operator,
        ["PUT /api/v1/senders/{channel}/{id}"] = Roles.Operator,
        ["POST /api/v1/knowledge/collections"] = Roles.Operator,
        ["DELETE /api/v1/knowledge/collections/{id:guid}"] = Roles.Operator,
        ["POST /api/v1/knowledge/collections/{id:guid}/documents"] = Roles.Operator,
        ["DELETE /api/v1/knowledge/documents/{id:guid}"] = Roles.Operator,

        ["PUT /api/v1/settings/brain"] = Roles.Admin,
        ["GET /api/v1/settings/trust"] = Roles.Admin,
        ["PUT /api/v1/settings/trust"] = Roles.Admin,
        ["GET /api/v1/users"] = Roles.Admin,
        ["POST /api/v1/users"] = Roles.Admin,
        ["PUT /api/v1/users/{id}"] = Roles.Admin,
        ["DELETE /api/v1/users/{id}"] = Roles.Admin,
        ["GET /api/v1/tokens"] = Roles.Admin,
        ["POST /api/v1/tokens"] = Roles.Admin,
        ["DELETE /api/v1/tokens/{id:guid}"] = Roles.Admin,
        ["GET /api/v1/audit"] = Roles.Admin,
    };

    [Fact]
    public async Task EveryEndpointAnswersEveryKindOfCallerAsItsRoleSays()
    {
        var ct = TestContext.Current.CancellationToken;
        using var replica = fixture.StartReplica();
        var endpoints = replica.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => (Key: $"{m} {Pattern(e)}", Endpoint: e)))
            .Where(e => !e.Key.StartsWith("OPTIONS ", StringComparison.Ordinal))
            .ToList();

        // The list and the table agree both ways: nothing unlisted, nothing listed that is gone.
        Assert.Empty(endpoints.Select(e => e.Key).Except(Required.Keys));
        Assert.Empty(Required.Keys.Except(endpoints.Select(e => e.Key)));
        foreach (var (key, endpoint) in endpoints)
        {
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            Assert.True(anonymous == (Required[key] == Anonymous), $"{key}: AllowAnonymous is {anonymous}");
            if (!anonymous)
            {
                var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
                Assert.True(policies.Contains(Required[key]), $"{key} has policies [{string.Join(", ", policies)}], not {Required[key]}");
            }
        }

        var callers = await CallersAsync(replica, ct);
        using var http = replica.CreateClient();
        http.Timeout = TimeSpan.FromSeconds(30);
        var failures = new List<string>();
        // Signing out ends the session, so it goes last.
        foreach (var (key, _) in endpoints.Where(e => Required[e.Key] != Anonymous).OrderBy(e => e.Key.EndsWith("/sign-out", StringComparison.Ordinal)))
        {
            foreach (var (caller, token, role) in callers)
            {
                var status = await SendAsync(http, key, token, ct);
                var expected = role is null ? "401" : Roles.Rank(role) < Roles.Rank(Required[key]) ? "403" : "allowed";
                var actual = status is HttpStatusCode.Unauthorized ? "401" : status is HttpStatusCode.Forbidden ? "403" : "allowed";
                if (expected != actual)
                {
                    failures.Add($"{key} as {caller}: {(int)status}, expected {expected}");
                }
            }
        }
        Assert.Empty(failures);
    }

    /// <summary>Anonymous, a session per role, the api-key, and a personal token that expired and one that was revoked.</summary>
    private async Task<List<(string Name, string? Token, string? Role)>> CallersAsync(ApiReplica replica, CancellationToken ct)
    {
        using var admin = replica.CreateApiClient();
        var callers = new List<(string, string?, string?)> { (Anonymous, null, null), ("api-key", fixture.ApiKey, Roles.Admin) };
        foreach (var role in Roles.All)
        {
            var name = await People.CreateAsync(admin, role, role);
            callers.Add((role, (await People.SignInAsync(admin, name)).Token, role));
        }
        var owner = await People.CreateAsync(admin, "owner", Roles.Admin);
        using var ownerClient = People.Client(admin.BaseAddress!, (await People.SignInAsync(admin, owner)).Token);
        async Task<CreatedToken> NewTokenAsync(string name)
        {
            using var response = await ownerClient.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest(name, Roles.Admin, 30), OsirisJson.Options, ct);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<CreatedToken>(OsirisJson.Options, ct))!;
        }
        var expired = await NewTokenAsync("expired");
        await using (var db = StorageExtensions.CreateDbContext(fixture.DatabaseConnection))
        {
            var past = DateTimeOffset.UtcNow.AddMinutes(-1);
            await db.AccessTokens.Where(t => t.Id == expired.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.ExpiresAt, past), ct);
        }
        var revoked = await NewTokenAsync("revoked");
        using (var response = await ownerClient.DeleteAsync($"/api/v1/tokens/{revoked.Id}", ct))
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }
        callers.Add(("expired token", expired.Token, null));
        callers.Add(("revoked token", revoked.Token, null));
        return callers;
    }

    private static async Task<HttpStatusCode> SendAsync(HttpClient http, string key, string? token, CancellationToken ct)
    {
        var (method, pattern) = (key[..key.IndexOf(' ')], key[(key.IndexOf(' ') + 1)..]);
        var path = System.Text.RegularExpressions.Regex.Replace(pattern, @"\{(\w+)(:guid)?\}", m => m.Groups[2].Success ? Guid.NewGuid().ToString() : "x");
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        // The stream never ends by itself: its status line is all this needs.
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        return response.StatusCode;
    }

    private static string Pattern(RouteEndpoint endpoint)
    {
        var raw = endpoint.RoutePattern.RawText ?? "";
        return raw.Length > 1 ? "/" + raw.Trim('/') : raw;
    }
}
