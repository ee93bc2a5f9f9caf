package seed

import "github.com/tamas-cc/tamas/crm"

var (
	statuses = []crm.Status{crm.StatusLead, crm.StatusLead, crm.StatusQualified, crm.StatusCustomer,
		crm.StatusCustomer, crm.StatusCustomer, crm.StatusInactive}
	tags = []string{"vip", "renewal", "wholesale", "retail", "tehran", "isfahan", "shiraz", "export",
		"newsletter", "complaint", "high-value", "trial"}

	enFirst = []string{"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
		"William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
		"Sarah", "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark",
		"Emily", "Steven", "Olivia"}
	enLast = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
		"Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
		"Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young",
		"Allen", "King", "Wright"}
	enOrgKinds = []string{"Trading", "Logistics", "Industries", "Holdings", "Pharma", "Foods", "Textiles",
		"Electronics", "Insurance", "Motors"}

	faFirst = []string{"علی", "محمد", "حسین", "رضا", "مهدی", "امیر", "سارا", "مریم", "فاطمه", "زهرا",
		"نرگس", "نیما", "پریسا", "الهام", "کاوه", "آرش", "شیرین", "بهاره", "مینا", "سعید", "حمید",
		"لیلا", "یاسمن", "مهسا", "کامران", "پویا", "شادی", "رویا", "بابک", "فرهاد"}
	faLast = []string{"احمدی", "محمدی", "حسینی", "رضایی", "کریمی", "موسوی", "جعفری", "صادقی",
		"رحیمی", "هاشمی", "قاسمی", "نوری", "کاظمی", "تهرانی", "شیرازی", "اصفهانی", "یزدانی", "فرهادی",
		"مرادی", "عباسی", "سلطانی", "نظری", "زمانی", "اکبری", "طاهری", "بهرامی", "منصوری", "شریفی",
		"امینی", "پاکزاد"}
	faOrgWords = []string{"پارس", "البرز", "آریا", "سپهر", "کیان", "مهر", "نوین", "ایران", "آسیا", "دنا"}
	faOrgKinds = []string{"بازرگانی", "صنایع", "تجارت", "پخش", "بیمه", "الکترونیک", "غذایی", "نساجی"}

	irMobile = []string{"0912", "0935", "0919", "0901", "0990", "0936", "0913", "0917"}
	usAreas  = []string{"415", "212", "646", "310", "312", "617", "206", "512", "305", "702"}
)
