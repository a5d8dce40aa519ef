using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Osiris.Api.Security;

/// <summary><c>Osiris:ApiKey</c>, set by the AppHost from its secret parameter <c>api-key</c>.</summary>
public sealed class ApiKeyOptions
{
    public const string Section = "Osiris";

    [Required, MinLength(16)]
    public string ApiKey { get; set; } = "";
}

/// <summary>Requires <c>Authorization: Bearer &lt;api key&gt;</c>, compared in constant time; 401 problem otherwise.</summary>
public sealed class ApiKeyFilter(IOptions<ApiKeyOptions> options) : IEndpointFilter
{
    private readonly byte[] _expected = Encoding.UTF8.GetBytes(options.Value.ApiKey);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        Challenge(context.HttpContext) ?? await next(context);

    /// <summary>Null when the request carries the API key; otherwise the 401 problem to return.</summary>
    public ProblemHttpResult? Challenge(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        var presented = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            ? Encoding.UTF8.GetBytes(header[scheme.Length..].Trim())
            : [];

        if (presented.Length > 0 && CryptographicOperations.FixedTimeEquals(presented, _expected))
        {
            return null;
        }
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return TypedResults.Problem(
            statusCode: StatusCodes.Status401Unauthorized,
            title: "Unauthorized",
            detail: presented.Length == 0
                ? "Send the API key as 'Authorization: Bearer <key>'."
                : "The API key is not valid.");
    }
}

public static class ApiKeyExtensions
{
    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        services.AddOptions<ApiKeyOptions>().BindConfiguration(ApiKeyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ApiKeyFilter>();
        return services;
    }

    public static RouteGroupBuilder RequireApiKey(this RouteGroupBuilder group)
    {
        group.AddEndpointFilter<ApiKeyFilter>();
        return group;
    }
}
