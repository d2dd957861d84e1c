// App Service Authentication (authsettingsV2) for the function app, with the Microsoft
// identity provider (docs/deployment.md, "App Service Authentication"). An unauthenticated
// request outside excludedPaths is redirected to sign-in (RedirectToLoginPage, for the
// browser pages /api/approvals/* and /api/dashboard) or refused (Return401). The excluded
// paths are not redirected but still authenticated when a token or cookie comes with them:
// the JSON APIs (/api/events, /api/compliance) then reach the app, which answers 401 without
// a principal (driftkeeper/access.py); Event Grid's delivery (/runtime/webhooks/eventgrid)
// carries the system key, /api/health the function key.

@description('Name of the function app in this resource group.')
param functionAppName string

@description('Client id of the Entra app registration users sign in with.')
param clientId string

@description('What happens to an unauthenticated request outside excludedPaths.')
@allowed([
  'RedirectToLoginPage'
  'Return401'
])
param unauthenticatedClientAction string = 'RedirectToLoginPage'

@description('Paths that are not redirected to sign-in.')
param excludedPaths array

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13: a false positive: the check reads the v1 authsettings shape (properties.enabled); this is authsettingsV2, on through platform.enabled below
  // checkov:skip=CKV_AZURE_63: HTTP logging is a web-server setting of the site config, not of authsettingsV2; Flex Consumption apps log requests to Application Insights
  // checkov:skip=CKV_AZURE_65: detailed error messages are a web-server setting of the site config, not of authsettingsV2
  // checkov:skip=CKV_AZURE_66: failed request tracing is a web-server setting of the site config, not of authsettingsV2
  // checkov:skip=CKV_AZURE_80: .NET Framework version does not apply: a Linux Python app
  // checkov:skip=CKV_AZURE_88: Azure Files does not apply: Flex Consumption keeps the package in blob storage
  // checkov:skip=CKV_AZURE_222: same reason as on the site: Event Grid and approvers reach the app publicly, behind authentication
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
      runtimeVersion: '~1'
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: unauthenticatedClientAction
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: excludedPaths
    }
    httpSettings: {
      requireHttps: true
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            clientId
            'api://${clientId}'
          ]
          defaultAuthorizationPolicy: {
            allowedApplications: []
          }
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
      preserveUrlFragmentsForLogins: true
    }
  }
}
