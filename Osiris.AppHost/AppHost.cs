using Osiris.AppHost;
using Osiris.AppHost.Infrastructure;

var builder = DistributedApplication.CreateBuilder(args);

var infrastructure = builder.AddOsirisInfrastructure();

var api = builder.AddProject<Projects.Osiris_Api>("api")
    .WithInfrastructure(infrastructure)
    .WithOsirisDefaults();

var mcpServer = builder.AddProject<Projects.Osiris_McpServer>("mcpserver")
    .WithOsirisDefaults();

builder.AddProject<Projects.Osiris_Agent>("agent")
    .WithHttpEndpoint(name: "http")
    .WithOsirisDefaults()
    .WithInfrastructure(infrastructure)
    .WithReference(api).WaitFor(api)
    .WithReference(mcpServer).WaitFor(mcpServer);

builder.AddProject<Projects.Osiris_Web>("web")
    .WithExternalHttpEndpoints()
    .WithOsirisDefaults()
    .WithReference(api).WaitFor(api);

builder.Build().Run();
