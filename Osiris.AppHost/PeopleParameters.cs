namespace Osiris.AppHost;

/// <summary>
/// People and single sign-on. <c>admin-password</c> (the first admin's) and <c>web-service-key</c> (the web's read-only
/// key for its shared live view) are generated on first run and kept in the AppHost's user secrets, like <c>api-key</c>.
/// The <c>oidc-*</c> parameters are optional; set <c>oidc-authority</c> and <c>oidc-client-id</c> to turn SSO on.
/// </summary>
public static class PeopleParameters
{
    public static void WithPeopleParameters(this IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> api,
        IResourceBuilder<ProjectResource> web)
    {
        var adminPassword = builder.AddParameter("admin-password", new GenerateParameterDefault { MinLength = 24, Special = false }, secret: true, persist: true);
        var webKey = builder.AddParameter("web-service-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);
        api.WithEnvironment("Osiris__Auth__AdminPassword", adminPassword)
            .WithEnvironment("Osiris__Auth__WebServiceKey", webKey);
        web.WithEnvironment("Osiris__ServiceKey", webKey);
        if (builder.ExecutionContext.IsRunMode)
        {
            // `dotnet run` on this computer: the web may sign its local user in as the first admin (only while it
            // listens on loopback alone; see the web's AccessPolicy). A published app never gets the password.
            web.WithEnvironment("Osiris__LocalAdminPassword", adminPassword);
            Console.WriteLine("OSIRIS: sign in as 'admin'; its password: dotnet user-secrets list --project Osiris.AppHost | grep admin-password");
        }

        string Optional(string name, string fallback = "") => builder.Configuration[$"Parameters:{name}"] is { Length: > 0 } value ? value : fallback;
        var authority = builder.AddParameter("oidc-authority", Optional("oidc-authority"));
        var clientId = builder.AddParameter("oidc-client-id", Optional("oidc-client-id"));
        var clientSecret = builder.AddParameter("oidc-client-secret", Optional("oidc-client-secret"), secret: true);
        var roleClaim = builder.AddParameter("oidc-role-claim", Optional("oidc-role-claim", "groups"));
        var roleMap = builder.AddParameter("oidc-role-map", Optional("oidc-role-map"));
        api.WithEnvironment("Osiris__Auth__Oidc__Authority", authority)
            .WithEnvironment("Osiris__Auth__Oidc__ClientId", clientId)
            .WithEnvironment("Osiris__Auth__Oidc__RoleClaim", roleClaim)
            .WithEnvironment("Osiris__Auth__Oidc__RoleMap", roleMap);
        web.WithEnvironment("Osiris__Oidc__Authority", authority)
            .WithEnvironment("Osiris__Oidc__ClientId", clientId)
            .WithEnvironment("Osiris__Oidc__ClientSecret", clientSecret);
    }
}
