from servicedesk.models import Role

#: who may register companies, change them and import them; everyone signed in may look them up
COMPANY_EDITORS = (Role.OFFICER, Role.ADMIN)
