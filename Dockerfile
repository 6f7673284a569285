# Build stage: restore and publish the server.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props EventflowDb.sln ./
COPY protocol/ protocol/
COPY server/ server/
RUN dotnet publish server/EventflowDb.Server/EventflowDb.Server.csproj -c Release -o /app --no-self-contained

# Runtime stage: the server alone, data on a volume. The ASP.NET Core runtime: the HTTP port (/health, /metrics) runs on Kestrel.
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
ENV DATA=/data \
    BIND=0.0.0.0 \
    PORT=6543 \
    HTTP_PORT=6544
VOLUME /data
EXPOSE 6543 6544
# Asks the server's /health on HTTP_PORT: healthy only while it serves (not while a long log replays at start).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["dotnet", "EventflowDb.Server.dll", "healthcheck"]
# Listens on all interfaces, so protected mode requires PASSWORD (or PROTECTED_MODE=no on a trusted network).
ENTRYPOINT ["dotnet", "EventflowDb.Server.dll"]
