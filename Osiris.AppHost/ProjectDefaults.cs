namespace Osiris.AppHost;

public static class ProjectDefaults
{
    /// <summary>
    /// Health-checked over <c>/health</c>, and no in-memory OTLP retry: Aspire turns it on, and the exporters then
    /// keep a stopping service alive for ~10 s retrying against a dashboard that is already gone.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithOsirisDefaults(this IResourceBuilder<ProjectResource> project) =>
        project.WithHttpHealthCheck("/health")
            .WithEnvironment("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY", "");
}
